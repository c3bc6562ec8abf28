import { readdir, readFile } from 'node:fs/promises';
import type { CommandRunner } from './command-runner.ts';
import type { HostPlatform } from './platform.ts';

/**
 * Direct children of a process: Linux reads the parent pid from /proc/<pid>/stat, FreeBSD asks `pgrep -P`.
 * Used to make sure nothing a run started outlives it.
 */
export async function childPids(parent: number, platform: HostPlatform, runner: CommandRunner): Promise<number[]> {
  if (platform === 'freebsd') {
    const result = await runner.run(['pgrep', '-P', String(parent)]);
    return result.stdout
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => Number.isInteger(n) && n > 0);
  }
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => undefined);
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so parse after the last ")".
    const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields && Number(fields[1]) === parent) pids.push(Number(name));
  }
  return pids;
}

/** A process's command line for messages ("pid 123 (cat)"); Linux reads /proc, elsewhere just the pid. */
export async function describeProcess(pid: number): Promise<string> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const words = cmdline.split('\0').filter(Boolean);
  return words.length > 0 ? `pid ${pid} (${words.join(' ')})` : `pid ${pid}`;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Ends processes by pid: SIGTERM (and SIGCONT, so a SIGSTOP'd one can act on it), then SIGKILL for any still alive
 * after `graceMs`. Resolves with the pids that had to be killed.
 */
export async function terminate(pids: readonly number[], graceMs = 1000): Promise<number[]> {
  const live = pids.filter(isAlive);
  for (const pid of live) {
    signal(pid, 'SIGTERM');
    signal(pid, 'SIGCONT');
  }
  const deadline = Date.now() + graceMs;
  while (live.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const stubborn = live.filter(isAlive);
  for (const pid of stubborn) signal(pid, 'SIGKILL');
  return stubborn;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    /* already gone */
  }
}
