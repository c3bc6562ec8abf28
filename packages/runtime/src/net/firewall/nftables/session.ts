/**
 * A long-lived `nft -i` process that applies scripts without paying a process spawn per change (on this class of
 * machine a spawn of nft costs ~20 ms, far more than the kernel transaction). A short script is sent as ONE line
 * with its commands joined by ";", which nft executes as one batch: one kernel transaction, all or nothing, exactly
 * like `nft -f`. A long one is written to a file in a private folder and sent as one `include "<file>"` line: nft -i
 * reads its input through libedit, which costs ~25 µs per element of a 1 000-element line, while the included file
 * goes through nft's file reader (~3 µs per element); the include is still one batch. After each script a line that
 * is always a syntax error (a sequence number) is sent; its error on stderr marks where the script's own error output
 * ends, and a syntax error costs nft neither a cache fetch nor a kernel round trip.
 *
 * Runs argv directly (no shell), like the command runner; it exists beside the runner because the runner's contract
 * is run-to-completion. If the process dies, the next apply starts a new one.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../../host/processes.ts';

/** Scripts longer than this go through an included file (see above). */
const INLINE_LIMIT = 2048;

export class NftSessionError extends Error {
  constructor(
    readonly script: string,
    readonly stderr: string,
  ) {
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
  private dir?: string;
  private swept = false;

  constructor(
    private readonly table: string,
    private readonly nftPath = 'nft',
  ) {}

  private start(): ChildProcessWithoutNullStreams {
    if (!this.swept) {
      removeStaleScriptDirs(this.table);
      this.swept = true;
    }
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
    if (!/\S/.test(script)) return Promise.resolve();
    const child = this.child ?? this.start();
    const seq = this.seq++;
    const marker = `cubenet-sync-${process.pid}-${seq}`;
    if (script.length > INLINE_LIMIT) {
      // One file per script: scripts queued behind each other must not overwrite one that nft has not read yet.
      // The file reader takes the script as it is (newline-separated); it is removed once nft has answered, without
      // holding up the caller (close() removes the folder with whatever is left).
      this.dir ??= scriptDir(this.table);
      const file = join(this.dir, `${seq}.nft`);
      writeFileSync(file, script.endsWith('\n') ? script : `${script}\n`, { mode: 0o600 });
      const done = () => void rm(file, { force: true }).catch(() => undefined);
      return new Promise<void>((resolve, reject) => {
        this.queue.push({ marker, resolve: () => (done(), resolve()), reject: (e) => (done(), reject(e)), script });
        child.stdin.write(`include ${JSON.stringify(file)}\n${marker}\n`);
      });
    }
    const line = script
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join('; ');
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ marker, resolve, reject, script });
      child.stdin.write(`${line}\n${marker}\n`);
    });
  }

  close(): void {
    const child = this.child;
    this.child = undefined;
    if (child) {
      child.stdin.end();
      child.kill('SIGTERM');
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/** A private folder for this process's script files, `<table>-nft-<pid>-XXXXXX` in the temporary folder. */
function scriptDir(table: string): string {
  return mkdtempSync(join(tmpdir(), `${table}-nft-${process.pid}-`));
}

/**
 * close() removes a session's script folder; a controller killed with SIGKILL cannot, so each new session first
 * removes the folders of its table whose process is gone (a pid that is alive, ours or anyone's, is left alone).
 */
function removeStaleScriptDirs(table: string): void {
  const lead = `${table}-nft-`;
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(lead)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(lead.length))?.[1]);
    if (Number.isInteger(pid) && pid > 0 && !isAlive(pid))
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}
