/**
 * What a create/kill cycle may leave behind, read from the outside (the pool's and cubenet's state files, /proc,
 * the run folders, the gateway's database) rather than asked of the runtime that made it, so that a bookkeeping
 * bug cannot hide its own leak. With no sandbox held, the only things that may exist are the pool's idle entries.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PoolState } from '@coppice/runtime/pool';
import type { Store } from '@coppice/gateway';
import { TEMPLATE, type RigLayout } from './layout.ts';

export interface LeakReport {
  /** QEMU processes running from the rig's run folder beyond the idle hot entries' VMs. */
  vms: number;
  /** cubenet endpoints (sandbox state files) no pool entry holds. */
  endpoints: number;
  /** Run folders (disk layers) and checkpoint files no pool entry or template checkpoint owns. */
  layers: number;
  /** Pool entries not idle (checked out or paused). */
  poolEntries: number;
  /** Gateway sandbox rows, any state. */
  gatewayRows: number;
  detail: string;
}

const listDir = (dir: string) => readdir(dir).catch(() => [] as string[]);

async function qemuPidsUnder(runRoot: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await listDir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv[0]?.includes('qemu-system') && argv.some((a) => a.includes(`${runRoot}/`))) pids.push(Number(name));
  }
  return pids;
}

export async function readPoolState(l: RigLayout): Promise<PoolState> {
  return JSON.parse(await readFile(join(l.stateDir, `${TEMPLATE}.json`), 'utf8')) as PoolState;
}

/** `rows` is the gateway's sandbox row count, read by the caller from its own store (or undefined: not open). */
export async function leakReport(l: RigLayout, rows: number): Promise<LeakReport> {
  const state = await readPoolState(l);
  const idleVms = state.entries.filter((e) => e.status === 'idle' && e.vm).length;
  const vms = (await qemuPidsUnder(l.runRoot)).length - idleVms;

  const leased = new Set(state.entries.map((e) => e.net?.id).filter(Boolean));
  const netFiles = (await listDir(join(l.stateDir, 'net', 'cpy'))).filter((f) => f.endsWith('.json'));
  const strayEndpoints = netFiles.filter((f) => !leased.has(f.split('.')[0]));

  const runDirs = new Set(state.entries.map((e) => e.vm?.runDir).filter(Boolean));
  const strayRunDirs = (await listDir(join(l.runRoot, TEMPLATE)))
    .map((d) => join(l.runRoot, TEMPLATE, d))
    .filter((d) => !runDirs.has(d));
  const owned = new Set<string>();
  for (const c of [state.base, ...state.entries.map((e) => e.checkpoint)]) {
    if (!c) continue;
    for (const f of [c.path, ...c.files, c.memoryImage, c.memoryFile, c.disk]) if (f) owned.add(f);
  }
  const checkpointDir = join(l.stateDir, TEMPLATE);
  const strayCheckpoints = (await listDir(checkpointDir))
    .map((f) => join(checkpointDir, f))
    .filter((f) => !owned.has(f));

  const notIdle = state.entries.filter((e) => e.status !== 'idle');
  const report: LeakReport = {
    vms: Math.max(0, vms),
    endpoints: strayEndpoints.length,
    layers: strayRunDirs.length + strayCheckpoints.length,
    poolEntries: notIdle.length,
    gatewayRows: rows,
    detail: '',
  };
  report.detail =
    `vms ${report.vms} (qemu ${vms + idleVms}, idle hot ${idleVms}), endpoints ${report.endpoints}` +
    `${strayEndpoints.length ? ` [${strayEndpoints.join(' ')}]` : ''}, layers ${report.layers}` +
    `${report.layers ? ` [${[...strayRunDirs, ...strayCheckpoints].join(' ')}]` : ''}, pool entries not idle ${notIdle.length}` +
    `${notIdle.length ? ` [${notIdle.map((e) => `${e.id}:${e.status}:${e.label ?? ''}`).join(' ')}]` : ''}, gateway rows ${rows}`;
  return report;
}

export const leakFree = (r: LeakReport) =>
  r.vms === 0 && r.endpoints === 0 && r.layers === 0 && r.poolEntries === 0 && r.gatewayRows === 0;

export const gatewayRows = (store: Store) => store.allSandboxes().length;
