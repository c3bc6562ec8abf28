/**
 * bhyve guests restored from one checkpoint and held paused, and the host memory they cost: the FreeBSD side of a
 * density measurement. One guest is booted, probed and checkpointed; N guests are restored from that checkpoint one
 * after another, each probed and paused; host free memory is read before and after. Whether guest memory is a
 * copy-on-write shadow of the checkpoint file (vnode restore) or a copy depends on the checkpoint's memory mode and
 * on this host's bhyve (BhyveHypervisor.restoreMemoryMode); the result says which it was.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandRunner } from '@coppice/runtime';
import { runChecked } from '@coppice/runtime/host';
import type { BhyveHypervisor, BhyveVm, RestoreMemoryMode } from '@coppice/runtime/hypervisor';
import type { GuestImage, MemoryMode, VmSpec } from '@coppice/runtime/hypervisor';
import type { RigContext } from '../../harness/rig-context.ts';

export interface RestoreDensityOptions {
  hv: BhyveHypervisor;
  image: GuestImage;
  /** Guest memory of the checkpoint: "template" restores by vnode on a patched bhyve, "private" always copies. */
  memory: MemoryMode;
  n: number;
  /** Prefix of the guests' names (kernel VM names, so unique to this run). */
  prefix: string;
  runRoot: string;
  checkpointDir: string;
  settleMs: number;
  probeTimeoutMs: number;
}

export interface RestoreDensityResult {
  mode: RestoreMemoryMode;
  n: number;
  hostDeltaBytes: number;
}

/** Free memory of a FreeBSD host: free pages × page size (sysctl vm.stats.vm.v_free_count, hw.pagesize). */
export async function freeMemoryBytes(runner: CommandRunner): Promise<number> {
  const read = async (name: string) => {
    const value = Number((await runChecked(runner, ['sysctl', '-n', name])).stdout.trim());
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`sysctl ${name} is not a count: ${value}`);
    return value;
  };
  return (await read('vm.stats.vm.v_free_count')) * (await read('hw.pagesize'));
}

export async function measureRestoreDensity(ctx: RigContext, o: RestoreDensityOptions): Promise<RestoreDensityResult> {
  const spec = (name: string): VmSpec => ({ name, image: o.image, memory: o.memory, runDir: `${o.runRoot}/${name}` });
  const source = await o.hv.boot(spec(`${o.prefix}-src`));
  let checkpoint;
  try {
    await source.probe({ timeoutMs: o.probeTimeoutMs });
    checkpoint = await source.checkpoint(`${o.checkpointDir}/${o.prefix}`);
  } finally {
    await source.destroy();
  }
  const cp = checkpoint;
  ctx.defer(() => o.hv.checkpoints.removeCheckpoint(cp));

  const vms: BhyveVm[] = [];
  const destroyAll = async () => {
    for (const vm of vms.splice(0)) await vm.destroy();
  };
  ctx.defer(destroyAll);
  try {
    const before = await freeMemoryBytes(ctx.runner);
    for (let i = 0; i < o.n; i++) {
      ctx.signal.throwIfAborted();
      const vm = await o.hv.restore(spec(`${o.prefix}-${i}`), cp);
      vms.push(vm);
      await vm.probe({ timeoutMs: o.probeTimeoutMs });
      await vm.pause();
      ctx.progress(`restore ${o.prefix}`, vms.length, o.n);
    }
    const modes = new Set(vms.map((v) => v.restoreMemory));
    if (modes.size !== 1)
      throw new Error(`restores of one checkpoint set up memory differently: ${[...modes].join(', ')}`);
    await sleep(o.settleMs);
    const after = await freeMemoryBytes(ctx.runner);
    return { mode: vms[0]!.restoreMemory!, n: o.n, hostDeltaBytes: before - after };
  } finally {
    await destroyAll();
  }
}
