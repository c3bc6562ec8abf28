/**
 * What every network rig needs: a cubenet of its own (prefix "cnr", 10.78.0.0/24 + fd78::/64, state in the run's
 * temporary folder) whose teardown is deferred before anything is created, so a failure or Ctrl-C removes every
 * sandbox, endpoint, the bridge and the nft tables. Reconcile on open removes leftovers of a crashed earlier run.
 */
import { join } from 'node:path';
import type { Cubenet, CubenetOptions } from '@coppice/runtime/net/cubenet.ts';
import { LinuxEndpoints } from '@coppice/runtime/net/endpoint/linux/netns.ts';
import { NftablesFirewall } from '@coppice/runtime/net/firewall/nftables/nftables.ts';
import { openLinuxCubenet } from '@coppice/runtime/net/linux.ts';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';

export const RIG_PREFIX = 'cnr';
export const RIG_SUBNETS = { ipv4: '10.78.0.0/24', ipv6: 'fd78::/64' } as const;

export async function cubenetPreflight(ctx: PreflightContext): Promise<string[]> {
  if (ctx.platform !== 'linux') return ['the FreeBSD backend of cubenet is not wired into the rigs yet'];
  const reasons = [
    ...(await new NftablesFirewall(ctx.runner, RIG_PREFIX).preflight()),
    ...(await new LinuxEndpoints(ctx.runner).preflight()),
  ];
  const ns = await ctx.runner.run(['ip', 'netns', 'list']);
  if (ns.code !== 0) reasons.push(`network namespaces unavailable: ${ns.stderr.trim()}`);
  return reasons;
}

/** The prefix and subnets of one rig's cubenet. */
export interface RigNet {
  prefix: string;
  ipv4Subnet: string;
  ipv6Subnet: string;
}

export const CORE_RIG_NET: RigNet = { prefix: RIG_PREFIX, ipv4Subnet: RIG_SUBNETS.ipv4, ipv6Subnet: RIG_SUBNETS.ipv6 };

export async function openRigCubenet(
  ctx: RigContext,
  options: Pick<CubenetOptions, 'spares' | 'maxIdle'> = {},
  rigNet: RigNet = CORE_RIG_NET,
): Promise<Cubenet> {
  const net = await openLinuxCubenet({
    config: { prefix: rigNet.prefix, ipv4Subnet: rigNet.ipv4Subnet, ipv6Subnet: rigNet.ipv6Subnet, stateDir: join(ctx.tmpdir, 'cubenet') },
    runner: ctx.runner,
    ...options,
    onBackgroundError: (e) => ctx.log(`cubenet background: ${e.message}`),
  });
  ctx.defer(async () => {
    await net.teardown();
    await net.close();
  });
  ctx.param('cubenet', {
    prefix: rigNet.prefix,
    ipv4: rigNet.ipv4Subnet,
    ipv6: rigNet.ipv6Subnet,
    firewall: 'nftables (persistent nft -i)',
    endpoints: 'netns+veth',
  });
  await net.init();
  return net;
}

/** Milliseconds since t0 (performance.now()). */
export function since(t0: number): number {
  return performance.now() - t0;
}
