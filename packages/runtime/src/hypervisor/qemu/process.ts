import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Linux process facts from /proc, used to track VMs by pid and to guard against pid reuse. */

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or undefined if the process is gone. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Process state letter (R, S, T, Z...) or undefined if gone. */
export async function processState(pid: number): Promise<string | undefined> {
  return (await stateAndParent(pid))?.state;
}

/** Fields 3 and 4 of /proc/PID/stat: state letter and parent pid, or undefined if gone. */
async function stateAndParent(pid: number): Promise<{ state: string; ppid: number } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return state === undefined ? undefined : { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Where process facts come from: /proc by default, a QemuSystem (real or fake) for the backend. */
export interface ProcessFacts {
  startTime(pid: number): Promise<string | undefined>;
  state(pid: number): Promise<string | undefined>;
}

const procFacts: ProcessFacts = { startTime: processStartTime, state: processState };

/** Whether `pid` still is the process that had `startTime` (pid reuse) and is not a zombie. */
export async function isSameProcess(pid: number, startTime: string, facts: ProcessFacts = procFacts): Promise<boolean> {
  const st = await facts.startTime(pid);
  if (st === undefined || st !== startTime) return false;
  const state = await facts.state(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

export async function memoryOf(pid: number): Promise<{ rssBytes: number; pssBytes?: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rss = /VmRSS:\s+(\d+) kB/.exec(status);
  let pssBytes: number | undefined;
  try {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
    const pss = /^Pss:\s+(\d+) kB/m.exec(rollup);
    if (pss) pssBytes = Number(pss[1]) * 1024;
  } catch {
    /* smaps_rollup needs a 4.14+ kernel and permission */
  }
  return { rssBytes: rss ? Number(rss[1]) * 1024 : 0, pssBytes };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kills one process by pid: SIGKILL (after SIGCONT is pointless for SIGKILL, which works on stopped processes),
 * then waits with short sleeps until it is gone (reaped by its parent or by init when daemonized).
 */
export async function killAndWait(pid: number, startTime: string | undefined, timeoutMs = 5000): Promise<void> {
  if (startTime !== undefined && !(await isSameProcess(pid, startTime))) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) {
    const proc = await stateAndParent(pid);
    if (proc === undefined) return;
    // A zombie of ours is reaped by Node's child handling in a moment: wait for that, so the pid is really gone
    // when destroy returns. A zombie of another parent (an adopted VM) is that parent's to reap.
    if (proc.state === 'Z' && proc.ppid !== process.pid) return;
    await sleep(10);
  }
}
