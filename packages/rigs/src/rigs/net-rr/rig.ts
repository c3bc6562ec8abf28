/**
 * net-rr: sandbox↔sandbox TCP round trip with policies loaded, IPv4 (sockperf) and IPv6 (tcp-rr), each interleaved
 * with a bare namespace/jail pair of the same run (the paired floor), client and server pinned to different CPUs.
 */
import { quantile } from '@coppice/results-schema';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { pairTag, type EndpointPair } from '../../lib/net/endpoint-pair.ts';
import { createJailPair } from '../../lib/net/jail-pair.ts';
import { createNamespacePair } from '../../lib/net/namespace-pair.ts';
import { filler } from '../../lib/net/policy-filler.ts';
import { cubenetPreflight, openRigCubenet } from '../../lib/net/rig-cubenet.ts';
import { sandboxExec } from '../../lib/net/sandbox-exec.ts';
import { untilListening } from '../../lib/net/until-listening.ts';
import {
  crossCpuPlacement,
  describePlacement,
  isCrossCpu,
  SAME_CPU,
  type RrPlacement,
} from '../../lib/rr/cpu-placement.ts';
import { keep } from '../../lib/rr/kept-samples.ts';
import type { RrPath } from '../../lib/rr/rr-path.ts';
import { sockperfBlock, startSockperfServer } from '../../lib/rr/sockperf.ts';
import { buildTcpRr, startTcpRrServer, tcpRrBlock } from '../../lib/rr/tcp-rr.ts';
import { measurePaired, pairedOrder, type PairedRun, type PathName, type RrTool } from './paired-blocks.ts';

export function preflight(ctx: PreflightContext): Promise<string[]> {
  return cubenetPreflight(ctx);
}

type Family = 'ipv4' | 'ipv6';

export async function run(ctx: RigContext): Promise<void> {
  const rounds = ctx.param('roundsPerFamily', ctx.quick ? 1 : 4);
  const seconds = ctx.param('secondsPerBlock', ctx.quick ? 1 : 2);
  const max = ctx.param('maxSamplesPerSeries', ctx.samples);
  const order = pairedOrder(rounds);
  ctx.param('blockOrder', order.join(' '));
  const placement = crossCpuPlacement(ctx.host.cpu.threads);
  ctx.param('placement', describePlacement(placement));

  const bin = await buildTcpRr(ctx);
  const net = await openRigCubenet(ctx);
  const a = await net.checkout();
  const b = await net.checkout();
  await net.setPolicy(a.id, {
    allowOut: [b.addresses.ipv4, b.addresses.ipv6, ...filler(98, 1)],
    denyOut: filler(100, 2),
  });
  await net.setPolicy(b.id, {
    allowOut: [a.addresses.ipv4, a.addresses.ipv6, ...filler(98, 3)],
    denyOut: filler(100, 4),
  });
  ctx.param('policyEntriesPerSandbox', 200);
  const tag = pairTag();
  ctx.param(
    'bareEndpoints',
    `cpr-${tag}-a and cpr-${tag}-b on a bridge of their own, ${ctx.platform === 'linux' ? 'network namespaces' : 'VNET jails'}, no cubenet, no policy`,
  );
  const bare = ctx.platform === 'linux' ? await createNamespacePair(ctx, tag) : await createJailPair(ctx, tag);

  const paths = (family: Family, port: number, at: RrPlacement): Record<PathName, RrPath> => ({
    sandbox: {
      clientExec: sandboxExec(ctx, a.endpoint),
      serverExec: sandboxExec(ctx, b.endpoint),
      address: b.addresses[family],
      port,
      placement: at,
    },
    bare: { clientExec: bare.execA, serverExec: bare.execB, address: bareAddress(bare, family), port, placement: at },
  });
  const sockperf: RrTool = {
    name: 'sockperf',
    start: (path) => startSockperfServer(ctx, path, untilListening),
    run: (path, server, s, log) => sockperfBlock(ctx, path, server, s, log),
  };
  const tcpRr: RrTool = {
    name: 'tcp-rr',
    start: (path) => startTcpRrServer(ctx, bin, path),
    run: (path, server, s, log) => tcpRrBlock(ctx, bin, path, server, s, log),
  };
  const record = (family: Family, { rtts, blocks }: PairedRun) => {
    ctx.param(`${family}Blocks`, blocks);
    const s = ctx.series('rtt', { family });
    for (const x of keep(ctx, family, rtts.sandbox, max)) s.add(x);
    const f = ctx.series('bare-rtt', { family });
    for (const x of keep(ctx, `${family}Bare`, rtts.bare, max)) f.add(x);
  };

  record('ipv4', await measurePaired(ctx, 'rtt-ipv4', sockperf, paths('ipv4', 11111, placement), order, seconds));
  record('ipv6', await measurePaired(ctx, 'rtt-ipv6', tcpRr, paths('ipv6', 11112, placement), order, seconds));

  // The same exchange with both ends on one CPU: what the headline's placement costs (or saves) on this host.
  if (isCrossCpu(placement)) {
    const sameOrder = pairedOrder(ctx.quick ? 1 : 2);
    ctx.param('sameCpu', { placement: describePlacement(SAME_CPU), blockOrder: sameOrder.join(' ') });
    const same = await measurePaired(
      ctx,
      'same-cpu-ipv4',
      sockperf,
      paths('ipv4', 11113, SAME_CPU),
      sameOrder,
      seconds,
    );
    ctx.param('sameCpuBlocks', same.blocks);
    for (const name of ['sandbox', 'bare'] as const) {
      const s = ctx.series('same-cpu-rtt', { path: name });
      for (const x of keep(ctx, `sameCpu${name === 'sandbox' ? 'Sandbox' : 'Bare'}`, same.rtts[name], max)) s.add(x);
    }
  }

  ctx.progress('rtt ipv4 (tcp-rr cross-check)', 0, 1);
  const check = paths('ipv4', 11114, placement).sandbox;
  const server = await startTcpRrServer(ctx, bin, check);
  let cross: number[];
  try {
    cross = await tcpRrBlock(ctx, bin, check, server, ctx.quick ? 1 : 3, 'cross-check.log');
  } finally {
    server.stop();
  }
  ctx.param('ipv4TcpRrCrossCheck', {
    transactions: cross.length,
    p50: quantile(cross, 0.5),
    p99: quantile(cross, 0.99),
  });
  ctx.progress('rtt ipv4 (tcp-rr cross-check)', 1, 1);
}

function bareAddress(pair: EndpointPair, family: Family): string {
  return family === 'ipv4' ? pair.addrB : pair.addr6B;
}
