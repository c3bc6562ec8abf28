/** pool-refill: time to make one durable entry and one hot entry (two-tier refill path). See manifest.ts. */
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { openRigPool, poolRigPreflight, setupQemu } from '../../lib/pools/qemu-pools.ts';

export function preflight(ctx: PreflightContext): Promise<string[]> {
  return poolRigPreflight(ctx);
}

export async function run(ctx: RigContext): Promise<void> {
  const q = await setupQemu(ctx);
  const memoryMiB = ctx.param('guestMemoryMiB', 256);
  // Sizes 0: nothing refills in the background, every fill is the one being timed.
  const pool = await openRigPool(ctx, q, 'refill', 'two-tier', memoryMiB, { hot: 0, durable: 0 });
  await pool.init();
  const warmup = ctx.quick ? 1 : 3;

  await ctx.repeat(
    { phase: 'refill durable', warmup, count: ctx.samples, series: ctx.series('refill', { tier: 'durable' }) },
    async () => {
      const ms = await pool.fill('durable');
      await pool.drain();
      return ms;
    },
  );

  await ctx.repeat(
    { phase: 'refill hot', warmup, count: ctx.samples, series: ctx.series('refill', { tier: 'hot' }) },
    async () => {
      await pool.fill('durable');
      const ms = await pool.fill('hot');
      const left = pool.list();
      if (left.some((e) => e.tier === 'durable') || !left.some((e) => e.tier === 'hot')) {
        throw new Error(`hot fill did not come from the cold tier: ${JSON.stringify(left)}`);
      }
      await pool.drain();
      return ms;
    },
  );
  await pool.destroyAll();
}
