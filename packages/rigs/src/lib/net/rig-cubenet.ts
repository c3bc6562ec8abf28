/**
 * What every network rig needs: a cubenet of its own (prefix "cnr", 10.78.0.0/24 + fd78::/64, state in the run's
 * temporary folder) whose teardown is deferred before anything is created, so a failure or Ctrl-C removes every
 * sandbox, endpoint, the bridge and the firewall objects. Reconcile on open removes leftovers of a crashed earlier
 * run. Opened with the runtime's openCubenet, so on FreeBSD the same calls run on pf, VNET jails and dummynet.
 */
import { join } from 'node:path';
import type { Cubenet, CubenetOptions } from '@coppice/runtime/net';
import { FreeBsdEndpoints } from '@coppice/runtime/net';
import { LinuxEndpoints } from '@coppice/runtime/net';
import { PfFirewall } from '@coppice/runtime/net';
import { NftablesFirewall } from '@coppice/runtime/net';
import { builtSetElementWriter } from '@coppice/runtime/net';
import { openCubenet } from '@coppice/runtime/net';
import { DummynetRateLimiter, DummynetPipes } from '@coppice/runtime/net';
import { TcRateLimiter } from '@coppice/runtime/net';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';

export const RIG_PREFIX = 'cnr';
export const RIG_SUBNETS = { ipv4: '10.78.0.0/24', ipv6: 'fd78::/64' } as const;

/**
 * Folder of the controller lock and of the host-wide forwarding record: the runtime's default (/run/coppice/net)
 * unless COPPICE_NET_LOCK_DIR names another. Tests that run a rig against the FreeBSD host model set it to a
 * temporary folder, so they never take this host's lock for the prefix nor write its /run.
 */
export function rigLockDir(): string | undefined {
  return process.env.COPPICE_NET_LOCK_DIR || undefined;
}

/** Sandboxes a rig's cubenet is sized for on FreeBSD (pf's anchor and table-entry limits are checked against it). */
export const RIG_MAX_SANDBOXES = 64;

/** What the rig's cubenet needs on this platform (the same checks its init makes), plus rate limits if asked. */
export async function cubenetPreflight(
  ctx: PreflightContext,
  needs: { rateLimits?: boolean; maxSandboxes?: number } = {},
): Promise<string[]> {
  if (ctx.platform === 'freebsd') {
    return [
      ...(await new PfFirewall(ctx.runner, RIG_PREFIX, {
        maxSandboxes: needs.maxSandboxes ?? RIG_MAX_SANDBOXES,
      }).preflight()),
      ...(await new FreeBsdEndpoints(ctx.runner, RIG_PREFIX).preflight()),
      ...(needs.rateLimits ? await new DummynetRateLimiter(ctx.runner, new DummynetPipes(0, 1)).preflight() : []),
    ];
  }
  const reasons = [
    ...(await new NftablesFirewall(ctx.runner, RIG_PREFIX).preflight()),
    ...(await new LinuxEndpoints(ctx.runner).preflight()),
    ...(needs.rateLimits ? await new TcRateLimiter(ctx.runner, RIG_PREFIX).preflight() : []),
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

export interface RigCubenetOptions extends Pick<CubenetOptions, 'spares' | 'maxIdle'> {
  /** Open with the platform's rate limiter (tc / dummynet); its prerequisites are then checked at init. */
  rateLimits?: boolean;
  /** FreeBSD: the interface pf's egress NAT translates to (the root hook's `nat on IF`); Linux masquerades on any. */
  egressInterface?: string;
}

export async function openRigCubenet(
  ctx: RigContext,
  options: RigCubenetOptions = {},
  rigNet: RigNet = CORE_RIG_NET,
): Promise<Cubenet> {
  const { rateLimits = false, ...rest } = options;
  const lockDir = rigLockDir();
  const net = await openCubenet({
    platform: ctx.platform,
    config: {
      prefix: rigNet.prefix,
      ipv4Subnet: rigNet.ipv4Subnet,
      ipv6Subnet: rigNet.ipv6Subnet,
      stateDir: join(ctx.tmpdir, 'cubenet'),
      ...(lockDir ? { lockDir } : {}),
    },
    runner: ctx.runner,
    rateLimits,
    maxSandboxes: RIG_MAX_SANDBOXES,
    ...rest,
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
    ...(lockDir ? { lockDir } : {}),
    ...(ctx.platform === 'freebsd'
      ? {
          firewall: 'pf (anchor per sandbox)',
          endpoints: 'VNET jail+epair',
          ...(rateLimits ? { rateLimits: 'dummynet pipe + dnpipe' } : {}),
        }
      : {
          firewall: 'nftables (persistent nft -i)',
          listChanges: builtSetElementWriter()
            ? 'one raw netlink batch (native/nft-set-elements)'
            : 'nft text (native/nft-set-elements not built)',
          endpoints: 'netns+veth',
          ...(rateLimits ? { rateLimits: 'tc: ingress mirred -> ifb -> tbf' } : {}),
        }),
  });
  await net.init();
  return net;
}
