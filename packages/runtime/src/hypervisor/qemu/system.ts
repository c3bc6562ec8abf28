/**
 * What the QEMU backend needs from Linux for its processes and their files: start a detached QEMU, read process
 * facts from /proc, signal and kill by pid, find QEMU processes, remove a VM's files. Tests substitute a fake (no
 * root, no QEMU) to exercise the backend's logic: pid-reuse guards, adoption, orphan discovery, cleanup.
 * `LinuxQemuSystem` is the real thing. QMP, the serial console and the migration stream are sockets the backend
 * opens itself (see qmp.ts, serial-console.ts, migration-sink.ts).
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { killAndWait, memoryOf, processStartTime, processState, type ProcessFacts } from './process.ts';

export interface QemuProcess {
  pid: number;
  /** Resolves with the exit status once the process is gone. */
  exited: Promise<number>;
}

export interface QemuSystem extends ProcessFacts {
  /**
   * Starts `argv` detached (its own process group: the VM outlives a crashed controller), stdout ignored, stderr
   * to `logPath` (truncated), and `incomingFd` inherited as fd 3 when given.
   */
  spawn(
    argv: readonly string[],
    options: { logPath: string; incomingFd?: number; env?: NodeJS.ProcessEnv },
  ): Promise<QemuProcess>;
  /** kill(2) with SIGSTOP or SIGCONT; throws when there is no such process. */
  signal(pid: number, signal: 'SIGSTOP' | 'SIGCONT'): void;
  /** SIGKILL, if `startTime` still matches (pid reuse), then waits until the process is gone. */
  killAndWait(pid: number, startTime: string | undefined): Promise<void>;
  memoryOf(pid: number): Promise<{ rssBytes: number; pssBytes?: number }>;
  /** Every process with its argv (from /proc/PID/cmdline). */
  processes(): Promise<Array<{ pid: number; argv: string[] }>>;
  /** Creates a VM's run directory (mode 0700, parents included). */
  makeRunDir(path: string): Promise<void>;
  /** rm -rf of one path the backend owns (a run directory, a memory file). */
  remove(path: string): Promise<void>;
}

export class LinuxQemuSystem implements QemuSystem {
  async spawn(
    argv: readonly string[],
    options: { logPath: string; incomingFd?: number; env?: NodeJS.ProcessEnv },
  ): Promise<QemuProcess> {
    const log = await open(options.logPath, 'w');
    const stdio: (number | 'ignore')[] = ['ignore', 'ignore', log.fd];
    if (options.incomingFd !== undefined) stdio.push(options.incomingFd);
    const [file, ...args] = argv;
    const child = spawn(file!, args, { stdio, detached: true, ...(options.env ? { env: options.env } : {}) });
    await log.close();
    const exited = new Promise<number>((resolve) =>
      child.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))),
    );
    child.once('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new Error(`cannot start ${file}`);
    return { pid: child.pid, exited };
  }

  startTime(pid: number): Promise<string | undefined> {
    return processStartTime(pid);
  }

  state(pid: number): Promise<string | undefined> {
    return processState(pid);
  }

  signal(pid: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
    process.kill(pid, signal);
  }

  killAndWait(pid: number, startTime: string | undefined): Promise<void> {
    return killAndWait(pid, startTime);
  }

  memoryOf(pid: number): Promise<{ rssBytes: number; pssBytes?: number }> {
    return memoryOf(pid);
  }

  async processes(): Promise<Array<{ pid: number; argv: string[] }>> {
    const out: Array<{ pid: number; argv: string[] }> = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (cmdline) out.push({ pid: Number(entry), argv: cmdline.split('\0').filter(Boolean) });
    }
    return out;
  }

  async makeRunDir(path: string): Promise<void> {
    await mkdir(path, { recursive: true, mode: 0o700 });
  }

  async remove(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
  }
}
