/** N VMs restored by the rig's own process, two at a time, each probed and SIGSTOPped like a pool's hot entry. */
import type { Checkpoint, Hypervisor, Vm, VmSpec } from '@coppice/runtime/hypervisor';
import type { RigContext } from '../../harness/rig-context.ts';

export interface HeldVms {
  vms: Vm[];
  /** Restore call to probe answered, per VM, ms. */
  restoreMs: number[];
  /** First restore started to last VM paused, s. */
  wallSeconds: number;
  destroyAll(): Promise<void>;
}

/**
 * Restores n VMs from `cp` (two restores at a time, as a pool refills with refillConcurrency 2). On failure every VM
 * made so far is destroyed before the error is thrown; on success the caller destroys them with destroyAll (also
 * registered with the rig's defer, for an abort).
 */
export async function restoreHeld(
  ctx: RigContext,
  hv: Hypervisor,
  specOf: (i: number) => VmSpec,
  cp: Checkpoint,
  n: number,
  phase: string,
): Promise<HeldVms> {
  const vms: Vm[] = [];
  const restoreMs: number[] = [];
  const destroyAll = async () => {
    for (const vm of vms.splice(0)) await vm.destroy();
  };
  ctx.defer(destroyAll);
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      try {
        ctx.signal.throwIfAborted();
        const started = performance.now();
        const vm = await hv.restore(specOf(i), cp);
        vms.push(vm);
        await vm.probe({ timeoutMs: 60_000 });
        restoreMs.push(performance.now() - started);
        await vm.pause();
      } catch (e) {
        next = n; // the other worker stops too
        throw e;
      }
      ctx.progress(phase, vms.length, n);
    }
  };
  // Both workers end before the VMs are destroyed, also when one fails.
  const failed = (await Promise.allSettled([worker(), worker()])).find((r) => r.status === 'rejected');
  if (failed) {
    await destroyAll();
    throw (failed as PromiseRejectedResult).reason;
  }
  return { vms, restoreMs, wallSeconds: (performance.now() - t0) / 1000, destroyAll };
}
