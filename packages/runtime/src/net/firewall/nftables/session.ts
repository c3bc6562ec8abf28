/**
 * A long-lived `nft -i` process that applies scripts without paying a process spawn per change (on this class of
 * machine a spawn of nft costs ~20 ms, far more than the kernel transaction). Each script is sent as ONE line with
 * its commands joined by ";", which nft executes as one batch: one kernel transaction, all or nothing, exactly like
 * `nft -f`. After each script a probe command that always fails (listing a set that never exists, named with a
 * sequence number) is sent; its error on stderr marks where the script's own error output ends.
 *
 * Runs argv directly (no shell), like the command runner; it exists beside the runner because the runner's contract
 * is run-to-completion. If the process dies, the next apply starts a new one.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export class NftSessionError extends Error {
  constructor(readonly script: string, readonly stderr: string) {
    super(`nft rejected the transaction: ${stderr.trim().split('\n').slice(0, 6).join(' | ')}`);
    this.name = 'NftSessionError';
  }
}

interface Pending {
  marker: string;
  resolve: () => void;
  reject: (e: Error) => void;
  script: string;
}

export class NftSession {
  private child?: ChildProcessWithoutNullStreams;
  private stderr = '';
  private seq = 0;
  private readonly queue: Pending[] = [];

  constructor(
    private readonly table: string,
    private readonly nftPath = 'nft',
  ) {}

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn(this.nftPath, ['-i'], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      this.stderr += d;
      this.drain();
    });
    const fail = (why: string) => {
      if (this.child === child) this.child = undefined;
      for (const p of this.queue.splice(0)) p.reject(new Error(`nft -i ${why}`));
      this.stderr = '';
    };
    child.on('error', (e) => fail(`could not run: ${e.message}`));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? code})`));
    child.stdin.on('error', () => undefined);
    this.child = child;
    return child;
  }

  private drain(): void {
    for (;;) {
      const p = this.queue[0];
      if (!p) return;
      const at = this.stderr.indexOf(p.marker);
      if (at < 0) return;
      const caretEnd = this.stderr.indexOf('\n', this.stderr.indexOf('\n', at) + 1);
      if (caretEnd < 0) return; // the caret line of the probe's error has not arrived yet
      const errorStart = this.stderr.lastIndexOf('Error:', at);
      const own = this.stderr.slice(0, Math.max(0, errorStart));
      this.stderr = this.stderr.slice(caretEnd + 1);
      this.queue.shift();
      if (own.trim()) p.reject(new NftSessionError(p.script, own));
      else p.resolve();
    }
  }

  /** Applies a script (newline-separated nft commands) as one transaction. */
  apply(script: string): Promise<void> {
    const lines = script.split('\n').map((l) => l.trim()).filter(Boolean);
    if (!lines.length) return Promise.resolve();
    const child = this.child ?? this.start();
    const marker = `list set inet ${this.table} cubenet-sync-${process.pid}-${this.seq++}`;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ marker, resolve, reject, script });
      child.stdin.write(`${lines.join('; ')}\n${marker}\n`);
    });
  }

  close(): void {
    const child = this.child;
    this.child = undefined;
    if (child) {
      child.stdin.end();
      child.kill('SIGTERM');
    }
  }
}
