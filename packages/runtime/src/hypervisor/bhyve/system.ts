/**
 * What the bhyve backend needs from the OS beyond short commands: a long-running monitor process, signals, its
 * console, files. Tests substitute the FreeBSD host model (test/freebsd-host/bhyve-system.ts); `FreeBsdSystem` is
 * the real thing (it needs FreeBSD: nmdm(4) devices, /dev/vmm, ps(1) with lstart).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, openSync } from 'node:fs';
import { access, link, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ReadStream, WriteStream } from 'node:tty';
import { type CommandRunner, ProcessRunner, runChecked } from '../../host/command-runner.ts';
import { copyDurably, syncDir, syncFile, writeFileAtomic } from '../../host/durable-files.ts';
import { HypervisorError } from '../hypervisor.ts';

export type MonitorSignal = 'SIGSTOP' | 'SIGCONT' | 'SIGTERM' | 'SIGKILL' | 0;

export interface Monitor {
  pid: number;
  /** Resolves with the exit status. */
  exited: Promise<number>;
  /** What the monitor wrote on stderr so far (for error messages). */
  stderr(): string;
}

export interface BhyveSystem {
  readonly runner: CommandRunner;
  spawn(argv: readonly string[]): Promise<Monitor>;
  /** kill(2); false when the process does not exist. */
  signal(pid: number, signal: MonitorSignal): Promise<boolean>;
  /** Process start time (guards against pid reuse), undefined when there is no such process. */
  startTime(pid: number): Promise<string | undefined>;
  rssBytes(pid: number): Promise<number>;
  /** Whether the kernel holds a VM of that name (/dev/vmm/NAME). */
  vmExists(name: string): Promise<boolean>;
  /** Sends "ping TOKEN" on the console device and resolves with the round trip once "ready TOKEN" comes back. */
  probe(consoleDevice: string, timeoutMs: number, signal?: AbortSignal): Promise<number>;
  fileSize(path: string): Promise<number | undefined>;
  readText(path: string): Promise<string | undefined>;
  writeText(path: string, text: string): Promise<void>;
  remove(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  /** Names in a directory (empty when it does not exist). */
  listDir(path: string): Promise<string[]>;
  copyFile(from: string, to: string): Promise<void>;
  /** Hard link: one vnode, so its pages in the page cache are shared by whoever maps either name. */
  link(from: string, to: string): Promise<void>;
  /** fsync(2) of a file's data (shared by every hard link to it). */
  syncFile(path: string): Promise<void>;
  /** fsync(2) of a folder: the names created in it survive a power loss. */
  syncDir(path: string): Promise<void>;
}

export class FreeBsdSystem implements BhyveSystem {
  constructor(readonly runner: CommandRunner = new ProcessRunner()) {}

  async spawn(argv: readonly string[]): Promise<Monitor> {
    const [file, ...args] = argv;
    if (!file) throw new HypervisorError('empty argv');
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (err = (err + d).slice(-4096)));
    const exited = new Promise<number>((resolve) =>
      child.on('close', (code, sig) => resolve(code ?? (sig === 'SIGKILL' ? 137 : 128))),
    );
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (e) => reject(new HypervisorError(`cannot run ${file}: ${e.message}`)));
    });
    return { pid: child.pid!, exited, stderr: () => err };
  }

  async signal(pid: number, signal: MonitorSignal): Promise<boolean> {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  async startTime(pid: number): Promise<string | undefined> {
    const r = await this.runner.run(['ps', '-o', 'lstart=', '-p', String(pid)]);
    return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
  }

  async rssBytes(pid: number): Promise<number> {
    const r = await runChecked(this.runner, ['ps', '-o', 'rss=', '-p', String(pid)]);
    return Number(r.stdout.trim()) * 1024;
  }

  async vmExists(name: string): Promise<boolean> {
    return access(`/dev/vmm/${name}`).then(
      () => true,
      () => false,
    );
  }

  /**
   * The console is an nmdm(4) tty: it is read through libuv's tty handle (event-driven, no thread blocked in read(2)),
   * in raw mode so the B side does not echo the guest's output back into it. "ping TOKEN" is re-sent every 250 ms
   * until "ready TOKEN" arrives, since a guest still booting has not opened its console yet.
   */
  async probe(consoleDevice: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    // One descriptor per stream: each stream closes its own when destroyed.
    const input = new ReadStream(
      openSync(consoleDevice, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY),
    );
    input.setRawMode(true);
    const output = new WriteStream(openSync(consoleDevice, fsConstants.O_WRONLY | fsConstants.O_NOCTTY));
    const token = randomBytes(4).toString('hex');
    const t0 = performance.now();
    return new Promise<number>((resolve, reject) => {
      let buffer = '';
      const send = () => output.write(`ping ${token}\n`);
      const resend = setInterval(send, 250);
      const timer = setTimeout(
        () => finish(new HypervisorError(`no answer on ${consoleDevice} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onAbort = () => finish(new HypervisorError('probe aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      function finish(result: number | Error): void {
        clearInterval(resend);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        input.destroy();
        output.destroy();
        if (result instanceof Error) reject(result);
        else resolve(result);
      }
      input.setEncoding('utf8');
      input.on('data', (chunk: string) => {
        buffer = (buffer + chunk).slice(-4096);
        if (buffer.split(/\r?\n/).some((l) => l.trim() === `ready ${token}`)) finish(performance.now() - t0);
      });
      input.on('error', (e) => finish(new HypervisorError(`${consoleDevice}: ${e.message}`)));
      send();
    });
  }

  async fileSize(path: string): Promise<number | undefined> {
    return stat(path).then(
      (s) => s.size,
      () => undefined,
    );
  }

  async readText(path: string): Promise<string | undefined> {
    return readFile(path, 'utf8').catch(() => undefined);
  }

  async writeText(path: string, text: string): Promise<void> {
    await writeFileAtomic(path, text);
  }

  async remove(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
  }

  async mkdir(path: string): Promise<void> {
    await mkdir(path, { recursive: true });
  }

  async listDir(path: string): Promise<string[]> {
    return readdir(path).catch(() => []);
  }

  /** Durable: a pool entry's checkpoint must survive a crash and a power loss (fsync'd, renamed, folder fsync'd). */
  async copyFile(from: string, to: string): Promise<void> {
    await copyDurably(from, to);
  }

  async link(from: string, to: string): Promise<void> {
    await link(from, to);
    await syncDir(dirname(to));
  }

  syncFile(path: string): Promise<void> {
    return syncFile(path);
  }

  syncDir(path: string): Promise<void> {
    return syncDir(path);
  }
}
