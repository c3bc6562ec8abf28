/**
 * Kernel same-page merging for one measurement: turned on with the rig's settings, the host's own settings put back
 * afterwards (also when the measurement fails or the rig is aborted), and the CPU ksmd spent in between read from
 * /proc/<ksmd pid>/stat.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export const KSM_DIR = '/sys/kernel/mm/ksm';
/** The settings the rig changes, restored from what they were before. */
export const KSM_SETTINGS = ['run', 'pages_to_scan', 'sleep_millisecs'] as const;
export type KsmSettings = Record<(typeof KSM_SETTINGS)[number], string>;

/** Clock ticks per second of /proc/PID/stat times (USER_HZ: 100 on every Linux architecture the project runs on). */
const USER_HZ = 100;

/** utime + stime of a /proc/PID/stat line, in seconds. Throws on a line that is not one. */
export function cpuSecondsOfStat(stat: string, source: string): number {
  const close = stat.lastIndexOf(')');
  const fields =
    close < 0
      ? []
      : stat
          .slice(close + 2)
          .trim()
          .split(' ');
  // After the command name: state is field 3, utime 14 and stime 15 (1-based), so indexes 11 and 12 here.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (fields.length < 13 || !Number.isInteger(utime) || !Number.isInteger(stime))
    throw new Error(`${source}: not a /proc/PID/stat line: "${stat.slice(0, 80)}"`);
  return (utime + stime) / USER_HZ;
}

async function ksmdPid(): Promise<number> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'ksmd') return Number(entry);
  }
  throw new Error('no ksmd thread: the kernel has no KSM');
}

async function readSetting(name: string): Promise<string> {
  return (await readFile(`${KSM_DIR}/${name}`, 'utf8')).trim();
}

export async function readKsmSettings(): Promise<KsmSettings> {
  const out: Partial<KsmSettings> = {};
  for (const name of KSM_SETTINGS) out[name] = await readSetting(name);
  return out as KsmSettings;
}

/** Writes settings; `run` last when switching on, first when switching off, so ksmd never runs with half of them. */
export async function writeKsmSettings(s: KsmSettings): Promise<void> {
  const order =
    s.run === '0' ? ['run', 'pages_to_scan', 'sleep_millisecs'] : ['pages_to_scan', 'sleep_millisecs', 'run'];
  for (const name of order) await writeFile(`${KSM_DIR}/${name}`, s[name as keyof KsmSettings]);
}

export interface KsmOutcome {
  fullScans: number;
  pagesSharing: number;
  pagesShared: number;
  ksmdCpuSeconds: number;
  wallSeconds: number;
}

/**
 * Runs KSM with `settings` until it completed `scans` full scans (or `timeoutS`), then calls `measure` while it is
 * still on, and puts the host's settings back. `onRestore` registers the put-back for an abort (the rig's defer).
 */
export async function withKsm<T>(
  settings: Omit<KsmSettings, 'run'>,
  scans: number,
  timeoutS: number,
  onRestore: (restore: () => Promise<void>) => void,
  measure: () => Promise<T>,
): Promise<{ outcome: KsmOutcome; result: T; hostSettings: KsmSettings }> {
  const hostSettings = await readKsmSettings();
  let restored = false;
  const restore = async () => {
    if (restored) return;
    restored = true;
    await writeKsmSettings(hostSettings);
  };
  onRestore(restore);
  try {
    const ksmd = await ksmdPid();
    const cpu = async () => cpuSecondsOfStat(await readFile(`/proc/${ksmd}/stat`, 'utf8'), `/proc/${ksmd}/stat`);
    const scansBefore = Number(await readSetting('full_scans'));
    const cpuBefore = await cpu();
    const t0 = performance.now();
    await writeKsmSettings({ ...settings, run: '1' });
    let fullScans = 0;
    while (fullScans < scans && performance.now() - t0 < timeoutS * 1000) {
      await sleep(500);
      fullScans = Number(await readSetting('full_scans')) - scansBefore;
    }
    const result = await measure();
    const outcome: KsmOutcome = {
      fullScans,
      pagesSharing: Number(await readSetting('pages_sharing')),
      pagesShared: Number(await readSetting('pages_shared')),
      ksmdCpuSeconds: +((await cpu()) - cpuBefore).toFixed(2),
      wallSeconds: +((performance.now() - t0) / 1000).toFixed(1),
    };
    return { outcome, result, hostSettings };
  } finally {
    await restore();
  }
}
