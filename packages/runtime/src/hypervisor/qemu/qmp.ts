import { connect, type Socket } from 'node:net';
import { HypervisorError } from '../hypervisor.ts';

/**
 * A QMP client over QEMU's unix control socket: greeting, capabilities negotiation, then one command at a time
 * (QMP answers in order, so replies are matched to a FIFO of pending commands). Asynchronous events are kept for
 * `waitEvent`, so a caller can wait for e.g. MIGRATION status without polling.
 */
export class QmpClient {
  private buffer = '';
  private pending: { resolve: (v: unknown) => void; reject: (e: Error) => void; command: string }[] = [];
  private eventWaiters: { name: string; match: (data: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  private closedError: Error | undefined;

  private constructor(private readonly socket: Socket) {}

  static async connect(path: string, timeoutMs = 5000): Promise<QmpClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new HypervisorError(`QMP connect to ${path} timed out`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new HypervisorError(`QMP connect to ${path}: ${e.message}`));
      });
    });
    const client = new QmpClient(socket);
    const greeting = client.nextLine(timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => client.onData(chunk));
    socket.on('close', () => client.onClose(new HypervisorError(`QMP socket ${path} closed`)));
    socket.on('error', (e) => client.onClose(new HypervisorError(`QMP socket ${path}: ${e.message}`)));
    await greeting;
    await client.execute('qmp_capabilities');
    return client;
  }

  private greetingResolve: ((line: string) => void) | undefined;

  private nextLine(timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new HypervisorError('QMP greeting timed out')), timeoutMs);
      this.greetingResolve = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if ('QMP' in msg) {
      this.greetingResolve?.(line);
      this.greetingResolve = undefined;
      return;
    }
    if ('event' in msg) {
      const name = String(msg.event);
      const data = (msg.data ?? {}) as Record<string, unknown>;
      this.eventWaiters = this.eventWaiters.filter((w) => {
        if (w.name === name && w.match(data)) {
          w.resolve();
          return false;
        }
        return true;
      });
      return;
    }
    const waiter = this.pending.shift();
    if (!waiter) return;
    if ('error' in msg) {
      const err = msg.error as { class?: string; desc?: string };
      waiter.reject(new HypervisorError(`QMP ${waiter.command}: ${err.desc ?? err.class ?? 'error'}`));
    } else {
      waiter.resolve(msg.return);
    }
  }

  private onClose(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    for (const w of this.pending.splice(0)) w.reject(error);
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ resolve: resolve as (v: unknown) => void, reject, command });
      this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    });
  }

  /** Resolves when an event named `name` whose data satisfies `match` arrives (register before triggering it). */
  waitEvent(name: string, match: (data: Record<string, unknown>) => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.eventWaiters = this.eventWaiters.filter((w) => w !== waiter);
        reject(new HypervisorError(`timed out after ${timeoutMs} ms waiting for QMP event ${name}`));
      }, timeoutMs);
      const waiter = {
        name,
        match,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.eventWaiters.push(waiter);
    });
  }

  close(): void {
    this.onClose(new HypervisorError('QMP client closed'));
    this.socket.destroy();
  }
}
