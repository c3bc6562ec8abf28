/**
 * density's Debian-template phase: N sandboxes of code-interpreter-v1 held as a prewarm pool's hot entries (restored
 * from the template checkpoint on their cubenet taps, the agent's /health answered, SIGSTOPped), measured as the
 * busybox ladder is: the fall of MemAvailable over N, and PSS beside it. Same run as the busybox ladder, so the two
 * per-VM figures compare.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TemplateName } from '@coppice/runtime/hypervisor';
import type { RigContext } from '../../harness/rig-context.ts';
import type { QemuRigSetup } from '../../lib/pools/qemu-pools.ts';
import { openTemplatePool, openTemplateRigCubenet, templateRigImage } from '../../lib/pools/template-pools.ts';
import { meminfo, processesMemory, settledMeminfo } from './kernel-memory.ts';

const MiB = 2 ** 20;

export async function templateDensity(
  ctx: RigContext,
  q: QemuRigSetup,
  template: TemplateName,
  n: number,
  rounds: number,
  settleS: number,
): Promise<void> {
  const net = await openTemplateRigCubenet(ctx);
  const image = await templateRigImage(ctx, template);
  const pool = await openTemplatePool(ctx, q, net, 'dnci', image, 'prewarm', { hot: 0, durable: 0 });
  const t0 = performance.now();
  await pool.init();
  ctx.log(`${template}: template checkpoint in ${(performance.now() - t0).toFixed(0)} ms`);
  const labels = { template, n: String(n) };
  for (let round = 1; round <= rounds; round++) {
    ctx.signal.throwIfAborted();
    const level = `${template} n=${n} round ${round}/${rounds}`;
    const { meminfo: before } = await settledMeminfo();
    pool.config.size.hot = n;
    const started = performance.now();
    await pool.warm();
    const secondsPerVm = (performance.now() - started) / 1000 / n;
    const pids = pool
      .list()
      .map((e) => e.pid)
      .filter((p): p is number => p !== undefined);
    if (pids.length !== n) throw new Error(`${level}: the pool holds ${pids.length} VMs, asked for ${n}`);
    await sleep(settleS * 1000);
    const after = await meminfo();
    const pss = await processesMemory(pids);
    const perVm = (before.MemAvailable - after.MemAvailable) / MiB / n;
    ctx.series('template-per-vm', labels).add(perVm);
    ctx.series('template-pss-per-vm', labels).add(pss.pssBytes / MiB / n);
    ctx.series('template-restore-seconds-per-vm', labels).add(secondsPerVm);
    ctx.log(
      `${level}: ${perVm.toFixed(1)} MiB per VM (MemAvailable), PSS ${(pss.pssBytes / MiB / n).toFixed(1)} MiB per VM, ${secondsPerVm.toFixed(2)} s per VM`,
    );
    pool.config.size.hot = 0;
    await pool.drain();
  }
}
