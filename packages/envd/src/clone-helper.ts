/**
 * The agent's side of coppice-clone-helper (packages/runtime/guest/clone-helper): a root helper that sets the clock
 * and reseeds the kernel's CRNG, one request per line on its stdin, one `ok` / `error MESSAGE` line back each, in
 * order. The agent starts it once at its own start, so in a template checkpoint it is already running: /init in a
 * fresh clone then costs a pipe write instead of a fork and exec (a quarter of a second each under TCG).
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export const DEFAULT_CLONE_HELPER = '/usr/local/bin/coppice-clone-helper';

export class CloneHelperError extends Error {
  override name = 'CloneHelperError';
}

interface Pending {
  resolve(): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class CloneHelper {
  private child: ChildProcessByStdio<Writable, Readable, null> | undefined;
  private readonly pending: Pending[] = [];
  private output = '';

  constructor(
    readonly path: string,
    private readonly timeoutMs = 5000,
  ) {}

  /** The running helper's pid, if one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the helper now if it is not running (it also starts on the first request, and again after it died). */
  start(): void {
    if (this.child) return;
    const child = spawn(this.path, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child = child;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onOutput(chunk));
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.output = '';
      this.failAll(new CloneHelperError(`clone helper ${this.path} ${why}`));
    };
    child.on('error', (e) => gone(`failed: ${e.message}`));
    child.on('exit', (code, signal) => gone(`exited (${signal ?? `code ${code}`})`));
    // A write to a helper that has just died fails with EPIPE; the exit handler reports it.
    child.stdin.on('error', () => undefined);
  }

  /** Sets CLOCK_REALTIME. */
  setClock(time: Date): Promise<void> {
    const ms = time.getTime();
    if (!Number.isSafeInteger(ms) || ms < 0)
      throw new CloneHelperError(`cannot set the clock to ${time.toISOString()}`);
    return this.request(`clock ${Math.floor(ms / 1000)} ${(ms % 1000) * 1_000_000}`);
  }

  /** Mixes `bytes` (16..512) into the kernel's pool, credited, and forces the CRNG to reseed from it. */
  reseed(bytes: Uint8Array): Promise<void> {
    return this.request(`reseed ${Buffer.from(bytes).toString('hex')}`);
  }

  private request(line: string): Promise<void> {
    this.start();
    const child = this.child!;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        // No answer: the helper is stuck; end it (it is ours) and fail what waits on it.
        child.kill('SIGKILL');
        if (this.child === child) this.child = undefined;
        this.failAll(new CloneHelperError(`clone helper ${this.path} did not answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.push({ resolve, reject, timer });
      child.stdin.write(`${line}\n`);
    });
  }

  private onOutput(chunk: string): void {
    this.output += chunk;
    let nl: number;
    while ((nl = this.output.indexOf('\n')) >= 0) {
      const reply = this.output.slice(0, nl);
      this.output = this.output.slice(nl + 1);
      const p = this.pending.shift();
      if (!p) continue;
      clearTimeout(p.timer);
      if (reply === 'ok') p.resolve();
      else p.reject(new CloneHelperError(`clone helper: ${reply.replace(/^error /, '')}`));
    }
  }

  private failAll(e: Error): void {
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(e);
    }
  }

  /** Ends the helper (its stdin closes, it exits). */
  close(): void {
    const child = this.child;
    this.child = undefined;
    this.failAll(new CloneHelperError('clone helper closed'));
    child?.stdin.end();
  }
}
