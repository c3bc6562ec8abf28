/**
 * Memory as the Linux kernel accounts it: a process's resident set (VmRSS), its peak (VmHWM) and its proportional
 * share (PSS, shared pages divided among the processes mapping them), and how much of a file sits in memory.
 */
import { readFile, statfs } from 'node:fs/promises';
import { runChecked, type CommandRunner } from '@coppice/runtime';

export interface ProcessMemory {
  rssBytes: number;
  hwmBytes: number;
  pssBytes: number;
  pssAnonBytes: number;
  pssFileBytes: number;
  pssShmemBytes: number;
}

function kbField(text: string, name: string, source: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  if (!m) throw new Error(`${source} has no ${name}`);
  return Number(m[1]) * 1024;
}

/** /proc/PID/status (VmRSS, VmHWM) and /proc/PID/smaps_rollup (Pss and its anon/file/shmem parts). */
export async function processMemory(pid: number): Promise<ProcessMemory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const s = `/proc/${pid}/status`;
  const r = `/proc/${pid}/smaps_rollup`;
  return {
    rssBytes: kbField(status, 'VmRSS', s),
    hwmBytes: kbField(status, 'VmHWM', s),
    pssBytes: kbField(rollup, 'Pss', r),
    pssAnonBytes: kbField(rollup, 'Pss_Anon', r),
    pssFileBytes: kbField(rollup, 'Pss_File', r),
    pssShmemBytes: kbField(rollup, 'Pss_Shmem', r),
  };
}

/** Sums processMemory over processes (peaks summed too: an upper bound of the joint peak). */
export async function processesMemory(pids: readonly number[]): Promise<ProcessMemory> {
  const total: ProcessMemory = {
    rssBytes: 0,
    hwmBytes: 0,
    pssBytes: 0,
    pssAnonBytes: 0,
    pssFileBytes: 0,
    pssShmemBytes: 0,
  };
  for (const pid of pids) {
    const m = await processMemory(pid);
    for (const k of Object.keys(total) as (keyof ProcessMemory)[]) total[k] += m[k];
  }
  return total;
}

/** Free memory the kernel reports (MemAvailable), bytes. */
export async function memAvailableBytes(): Promise<number> {
  return kbField(await readFile('/proc/meminfo', 'utf8'), 'MemAvailable', '/proc/meminfo');
}

/** The /proc/meminfo fields that say where a change of MemAvailable came from. */
export const MEMINFO_FIELDS = [
  'MemTotal',
  'MemAvailable',
  'MemFree',
  'AnonPages',
  'Shmem',
  'Cached',
  'SReclaimable',
  'SUnreclaim',
  'PageTables',
  'KernelStack',
] as const;
export type Meminfo = Record<(typeof MEMINFO_FIELDS)[number], number>;

/** Those fields of /proc/meminfo, bytes. */
export async function meminfo(): Promise<Meminfo> {
  const text = await readFile('/proc/meminfo', 'utf8');
  return Object.fromEntries(MEMINFO_FIELDS.map((f) => [f, kbField(text, f, '/proc/meminfo')])) as Meminfo;
}

/**
 * /proc/meminfo once MemFree has stopped moving: two readings `intervalMs` apart within `toleranceMiB`, or the last
 * reading after `maxMs`. Memory of VMs destroyed just before (a previous level, another controller) is handed back
 * by the kernel over a second or more; a baseline taken meanwhile keeps rising and hides what the next level costs.
 */
export async function settledMeminfo(
  options: { intervalMs?: number; toleranceMiB?: number; maxMs?: number } = {},
): Promise<{ meminfo: Meminfo; waitedMs: number }> {
  const { intervalMs = 500, toleranceMiB = 4, maxMs = 30_000 } = options;
  const t0 = performance.now();
  let last = await meminfo();
  for (;;) {
    await new Promise((r) => setTimeout(r, intervalMs));
    const now = await meminfo();
    const waitedMs = performance.now() - t0;
    if (Math.abs(now.MemFree - last.MemFree) <= toleranceMiB * 1024 * 1024 || waitedMs >= maxMs)
      return { meminfo: now, waitedMs };
    last = now;
  }
}

const TMPFS_MAGIC = 0x01021994;

/**
 * Where a file's pages live: "tmpfs" (shmem: never counted in MemAvailable, so a fall of MemAvailable sees them) or
 * "page-cache" (a disk file: its cached pages count as available memory, so MemAvailable does not see them).
 */
export async function fileBacking(path: string): Promise<'tmpfs' | 'page-cache'> {
  return (await statfs(path)).type === TMPFS_MAGIC ? 'tmpfs' : 'page-cache';
}

/** Bytes of `path` resident in memory, from fincore(1) (util-linux; mincore(2) over the file). */
export async function fileResidentBytes(runner: CommandRunner, path: string): Promise<number> {
  const r = await runChecked(runner, ['fincore', '--bytes', '--noheadings', '--raw', '--output', 'RES', path]);
  const text = r.stdout.trim();
  if (!/^\d+$/.test(text)) throw new Error(`fincore ${path}: unexpected output "${text}"`);
  return Number(text);
}

/** Direct children of `pid` (from /proc/PID/task/PID/children). */
export async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

/** The command name of a process (/proc/PID/comm), or undefined if it is gone. */
export async function commOf(pid: number): Promise<string | undefined> {
  return (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => undefined))?.trim();
}
