import { connect, type Socket } from 'node:net';
import { HypervisorError } from '../hypervisor.ts';

/**
 * The guest's serial console, reached through QEMU's `-chardev socket,server=on` unix socket. The guest init
 * answers "ping TOKEN" with "ready TOKEN" and "net ADDR GW|- MAC" with "net-ok ADDR". Waiting is event-driven (the
 * socket's data events); a request not yet answered is re-sent on a slow timer, because a guest still booting
 * has not opened its console yet.
 */
export class SerialConsole {
  private socket: Socket | undefined;
  private connecting: Promise<Socket> | undefined;
  private buffer = '';
  private lineWaiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  private token = 0;

  constructor(private readonly path: string) {}

  private async ensure(timeoutMs: number): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return this.socket;
    this.connecting ??= new Promise<Socket>((resolve, reject) => {
      const s = connect(this.path);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new HypervisorError(`serial console ${this.path}: connect timed out`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.setEncoding('utf8');
        s.on('data', (chunk: string) => this.onData(chunk));
        s.on('error', () => s.destroy());
        s.on('close', () => {
          if (this.socket === s) this.socket = undefined;
        });
        this.socket = s;
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new HypervisorError(`serial console ${this.path}: ${e.message}`));
      });
    }).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '').trim();
      this.buffer = this.buffer.slice(nl + 1);
      this.lineWaiters = this.lineWaiters.filter((w) => {
        if (w.match(line)) {
          w.resolve(line);
          return false;
        }
        return true;
      });
    }
    if (this.buffer.length > 65536) this.buffer = this.buffer.slice(-4096);
  }

  /**
   * Sends `request(token)` and resolves with the answering line once `isAnswer(line, token)`; re-sends every
   * `resendMs` (with a fresh token) until answered or `timeoutMs` has passed.
   */
  async request(
    request: (token: string) => string,
    isAnswer: (line: string, tokens: Set<string>) => boolean,
    options: { timeoutMs: number; resendMs: number; signal?: AbortSignal },
  ): Promise<string> {
    const deadline = Date.now() + options.timeoutMs;
    const socket = await this.ensure(options.timeoutMs);
    const tokens = new Set<string>();
    return new Promise<string>((resolve, reject) => {
      let resend: NodeJS.Timeout | undefined;
      const finish = (err: Error | undefined, line?: string) => {
        clearTimeout(timer);
        if (resend) clearTimeout(resend);
        this.lineWaiters = this.lineWaiters.filter((w) => w !== waiter);
        options.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(line!);
      };
      const waiter = {
        match: (line: string) => isAnswer(line, tokens),
        resolve: (line: string) => finish(undefined, line),
      };
      this.lineWaiters.push(waiter);
      const timer = setTimeout(
        () => finish(new HypervisorError(`guest did not answer on ${this.path} within ${options.timeoutMs} ms`)),
        Math.max(0, deadline - Date.now()),
      );
      const onAbort = () => finish(new HypervisorError('probe aborted'));
      options.signal?.addEventListener('abort', onAbort);
      const send = () => {
        const token = `${process.pid}-${++this.token}`;
        tokens.add(token);
        socket.write(request(token) + '\n');
        resend = setTimeout(send, options.resendMs);
      };
      send();
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}
