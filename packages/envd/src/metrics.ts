/**
 * GET /metrics: the guest's CPU, memory and root-disk use as E2B's envd reports them (snake_case), for the control
 * plane's sandbox metrics. CPU use is the busy share of all CPUs since the previous call (since boot on the first).
 */
import { readFile, statfs } from 'node:fs/promises';
import { cpus } from 'node:os';

export interface GuestMetrics {
  ts: number;
  cpu_count: number;
  cpu_used_pct: number;
  mem_total: number;
  mem_used: number;
  mem_cache: number;
  disk_used: number;
  disk_total: number;
}

interface CpuTimes {
  busy: number;
  total: number;
}

function cpuTimes(stat: string): CpuTimes {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no cpu line');
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const idleAll = (idle ?? 0) + (iowait ?? 0);
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return { busy, total: busy + idleAll };
}

function meminfoBytes(meminfo: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(meminfo);
  if (!m) throw new Error(`/proc/meminfo has no ${key}`);
  return Number(m[1]) * 1024;
}

export class MetricsReader {
  private previous: CpuTimes | undefined;

  constructor(
    private readonly procRoot = '/proc',
    private readonly diskPath = '/',
  ) {}

  async read(): Promise<GuestMetrics> {
    const [stat, meminfo, disk] = await Promise.all([
      readFile(`${this.procRoot}/stat`, 'utf8'),
      readFile(`${this.procRoot}/meminfo`, 'utf8'),
      statfs(this.diskPath),
    ]);
    const now = cpuTimes(stat);
    const before = this.previous ?? { busy: 0, total: 0 };
    this.previous = now;
    const span = now.total - before.total;
    const total = meminfoBytes(meminfo, 'MemTotal');
    return {
      ts: Math.floor(Date.now() / 1000),
      cpu_count: cpus().length,
      cpu_used_pct: span > 0 ? Math.round(((now.busy - before.busy) / span) * 10000) / 100 : 0,
      mem_total: total,
      mem_used: total - meminfoBytes(meminfo, 'MemAvailable'),
      mem_cache: meminfoBytes(meminfo, 'Cached'),
      disk_total: disk.blocks * disk.bsize,
      disk_used: (disk.blocks - disk.bfree) * disk.bsize,
    };
  }
}
