/**
 * cold-start's Debian-template phase: per template (base, code-interpreter-v1) the pooled checkouts (prewarm,
 * durable, two-tier) until the agent's GET /health answers over the sandbox's cubenet address, and the floor of the
 * same template in the same run: SIGCONT to a stopped clone plus one GET /health.
 */
import type { TemplateName } from '@coppice/runtime/hypervisor';
import type { Pool } from '@coppice/runtime/pool';
import type { Cubenet } from '@coppice/runtime/net';
import type { RigContext } from '../../harness/rig-context.ts';
import type { QemuRigSetup } from '../../lib/pools/qemu-pools.ts';
import { AGENT_HEALTH, openTemplatePool, templateRigImage } from '../../lib/pools/template-pools.ts';
import { checkoutRound, untilStopped } from './checkout-round.ts';
import type { COLD_START_CC } from './manifest.ts';

type Cc = (typeof COLD_START_CC)[number];
const POOL_NAME: Record<TemplateName, string> = { base: 'csbase', 'code-interpreter-v1': 'csci' };
const HEALTH_TIMEOUT_MS = 30_000;

export async function templateColdStart(
  ctx: RigContext,
  q: QemuRigSetup,
  net: Cubenet,
  template: TemplateName,
  ccLevels: Cc[],
  rounds: Record<string, number>,
): Promise<void> {
  const image = await templateRigImage(ctx, template);
  const pool = await openTemplatePool(ctx, q, net, POOL_NAME[template], image, 'durable', { hot: 0, durable: 0 });
  const t0 = performance.now();
  await pool.init();
  ctx.log(`${template}: template checkpoint in ${(performance.now() - t0).toFixed(0)} ms`);
  await sigcontHealthFloor(ctx, pool, template);
  const configs = [
    ['prewarm', (cc: number) => ({ hot: cc, durable: 0 })],
    ['durable', (cc: number) => ({ hot: 0, durable: cc })],
    ['two-tier', (cc: number) => ({ hot: Math.min(cc, 2), durable: cc })],
  ] as const;
  for (const [config, sizeFor] of configs) {
    await pool.reconfigure(config, sizeFor(1));
    for (const ccText of ccLevels) {
      const cc = Number(ccText);
      const series = ctx.series('agent-ready-latency', { template, config, cc: ccText });
      Object.assign(pool.config.size, sizeFor(cc));
      const roundsHere = cc === 1 ? ctx.samples : (rounds[ccText] ?? 1);
      for (let r = 0; r < roundsHere; r++) {
        ctx.signal.throwIfAborted();
        await pool.warm();
        await checkoutRound(ctx, pool, `${template} ${config} cc=${cc} round ${r + 1}/${roundsHere}`, cc, series);
      }
    }
    await pool.drain();
  }
}

/**
 * A clone restored from the template checkpoint by the pool (untimed: it gets its address and answers /health, as a
 * hot entry is filled), stopped, then timed from SIGCONT to the agent's /health answer over its address.
 */
async function sigcontHealthFloor(ctx: RigContext, pool: Pool, template: TemplateName): Promise<void> {
  await pool.reconfigure('durable', { hot: 0, durable: 0 });
  await ctx.repeat(
    {
      phase: `${template} floor sigcont+health`,
      warmup: 1,
      count: ctx.samples,
      series: ctx.series('floor-sigcont-health', { template }),
    },
    async () => {
      const out = await pool.checkout();
      try {
        await out.vm.pause();
        await untilStopped(out.vm.pid);
        const t0 = performance.now();
        await out.vm.resume();
        await out.vm.probe({
          timeoutMs: HEALTH_TIMEOUT_MS,
          via: AGENT_HEALTH.via,
          http: { port: AGENT_HEALTH.port, path: AGENT_HEALTH.path },
        });
        return performance.now() - t0;
      } finally {
        await pool.return(out.id, { refill: false });
      }
    },
  );
}
