/**
 * density: N VMs restored from one checkpoint, with and without template sharing; host memory from MemAvailable,
 * PSS as a cross-check. N grows while the host's memory (with a safety margin) and the time budget allow.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { memoryOf } from '@coppice/runtime/hypervisor/qemu/process.ts';
import type { Checkpoint, Vm } from '@coppice/runtime/hypervisor/hypervisor.ts';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { memAvailableBytes, openRigPool, poolRigPreflight, setupQemu, type QemuRigSetup } from '../cold-start/qemu-pools.ts';
import { DENSITY_N } from './manifest.ts';

export function preflight(ctx: PreflightContext): Promise<string[]> {
  return poolRigPreflight(ctx);
}

const MiB = 2 ** 20;

export async function run(ctx: RigContext): Promise<void> {
  const q = await setupQemu(ctx);
  const memoryMiB = ctx.param('guestMemoryMiB', 256);
  const settleS = ctx.param('settleSeconds', ctx.quick ? 2 : 5);
  // Leave this much of MemAvailable untouched: the host is shared and must stay usable.
  const reserveMiB = ctx.param('reserveMiB', 6144);
  const budgetS = ctx.param('timeBudgetSeconds', ctx.quick ? 120 : 420);
  const levels = ctx.quick ? [8] : DENSITY_N.map(Number);
  const started = performance.now();

  const pool = await openRigPool(ctx, q, 'density', 'durable', memoryMiB, { hot: 0, durable: 0 });
  const shared = await pool.init();
  ctx.param('templateMemoryFileMiB', memoryMiB);

  // The naive baseline's checkpoint: a VM with private RAM checkpointed with all of its memory in the file.
  const naiveSource = await q.hv.restore(spec(q, memoryMiB, 'density-naive-src', 'private'), shared);
  let naive: Checkpoint;
  try {
    await naiveSource.probe();
    naive = await naiveSource.checkpoint(`${ctx.tmpdir}/density-naive.state`);
  } finally {
    await naiveSource.destroy();
  }
  ctx.defer(() => q.hv.removeCheckpoint(naive));
  ctx.param('naiveCheckpointMiB', +(naive.bytes / MiB).toFixed(1));

  const limits: Record<string, string> = {};
  const pss: Record<string, number> = {};
  const timings: Record<string, number> = {};
  for (const sharing of ['template', 'none'] as const) {
    let perVmMiB: number | undefined;
    for (const n of levels) {
      const available = (await memAvailableBytes()) / MiB;
      const predicted = perVmMiB === undefined ? n * (sharing === 'none' ? memoryMiB + 64 : 64) : n * perVmMiB * 1.15;
      if (predicted > available - reserveMiB) {
        limits[sharing] = `stopped before n=${n}: about ${predicted.toFixed(0)} MiB needed, ${available.toFixed(0)} MiB available, ${reserveMiB} MiB kept in reserve`;
        break;
      }
      const elapsedS = (performance.now() - started) / 1000;
      const lastPerVmS = timings[`${sharing}-${levels[levels.indexOf(n) - 1]}`];
      if (lastPerVmS !== undefined && elapsedS + lastPerVmS * n > budgetS) {
        limits[sharing] = `stopped before n=${n}: about ${(lastPerVmS * n).toFixed(0)} s needed to restore them, past the ${budgetS} s budget`;
        break;
      }
      const r = await measure(ctx, q, memoryMiB, sharing === 'template' ? shared : naive, n, settleS, sharing);
      perVmMiB = r.deltaMiB / n;
      ctx.series('host-delta', { n: String(n), sharing }).add(r.deltaMiB);
      ctx.series('per-vm', { n: String(n), sharing }).add(perVmMiB);
      pss[`${sharing}-${n}`] = +(r.pssMiB / n).toFixed(1);
      timings[`${sharing}-${n}`] = r.secondsPerVm;
      ctx.log(`${sharing} n=${n}: host delta ${r.deltaMiB.toFixed(0)} MiB, ${perVmMiB.toFixed(1)} MiB per VM, PSS ${(r.pssMiB / n).toFixed(1)} MiB per VM`);
    }
    limits[sharing] ??= `all levels run (${levels.join(', ')})`;
  }
  ctx.param('limits', limits);
  ctx.param('pssMiBPerVm', pss);
  ctx.param('restoreSecondsPerVm', timings);
  await pool.destroyAll();
}

function spec(q: QemuRigSetup, memoryMiB: number, name: string, memory: 'template' | 'private') {
  return { name, image: q.image(memoryMiB), memory, runDir: `${q.runRoot}/density/${name}` };
}

async function measure(
  ctx: RigContext,
  q: QemuRigSetup,
  memoryMiB: number,
  cp: Checkpoint,
  n: number,
  settleS: number,
  sharing: string,
): Promise<{ deltaMiB: number; pssMiB: number; secondsPerVm: number }> {
  const vms: Vm[] = [];
  const destroyAll = async () => {
    for (const vm of vms.splice(0)) await vm.destroy();
  };
  ctx.defer(destroyAll);
  await sleep(1000);
  const before = await memAvailableBytes();
  const t0 = performance.now();
  try {
    for (let i = 0; i < n; i++) {
      ctx.signal.throwIfAborted();
      const vm = await q.hv.restore(spec(q, memoryMiB, `d-${sharing === 'template' ? 't' : 'n'}-${i}`, cp.memory === 'template' ? 'template' : 'private'), cp);
      vms.push(vm);
      await vm.probe({ timeoutMs: 60_000 });
      ctx.progress(`density ${sharing} n=${n}`, i + 1, n);
    }
    const secondsPerVm = (performance.now() - t0) / 1000 / n;
    await sleep(settleS * 1000);
    const after = await memAvailableBytes();
    let pss = 0;
    for (const vm of vms) pss += (await memoryOf(vm.pid)).pssBytes ?? 0;
    return { deltaMiB: (before - after) / MiB, pssMiB: pss / MiB, secondsPerVm };
  } finally {
    await destroyAll();
  }
}
