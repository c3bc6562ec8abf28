import { runChecked } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import { firewallNoopArgv } from '../../lib/host/firewall-noop.ts';
import { elapsedMs } from '../../lib/measure/timing.ts';

/** firewall-spawn: spawn to observed exit, through the runtime's command runner. */
export async function measureFirewallSpawn(ctx: RigContext, count: number, warmup: number): Promise<void> {
  const argv = firewallNoopArgv(ctx.platform);
  ctx.param('firewallCommand', argv.join(' '));
  await ctx.repeat({ phase: 'firewall-spawn', warmup, count, series: ctx.series('firewall-spawn') }, async () => {
    const t0 = performance.now();
    await runChecked(ctx.runner, argv, { timeoutMs: 10_000 });
    return elapsedMs(t0);
  });
}
