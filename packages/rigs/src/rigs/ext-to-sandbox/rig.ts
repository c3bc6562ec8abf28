/**
 * ext-to-sandbox: TCP round trip from an external peer to a service in a sandbox through a port forward (DNAT), against
 * the same peer to the same service directly routed (see manifest.ts for the clock). On FreeBSD the peer is a VNET
 * jail, the forward is pf's rdr-to in the sandbox's anchor and the direct path passes through the rig's own anchor.
 */
import { evenSubsample } from '@coppice/results-schema';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { abbaOrder } from '../../lib/measure/abba-order.ts';
import { EDGE_NETS, openEdgeCubenet } from '../../lib/net/edge-cubenet.ts';
import { createExternalPeer } from '../../lib/net/external-peer.ts';
import { cubenetPreflight } from '../../lib/net/rig-cubenet.ts';
import { sandboxExec } from '../../lib/net/sandbox-exec.ts';
import { untilListening } from '../../lib/net/until-listening.ts';
import { crossCpuPlacement, describePlacement } from '../../lib/rr/cpu-placement.ts';
import type { RrPath } from '../../lib/rr/rr-path.ts';
import { sockperfBlock, sockperfClientArgv, startSockperfServer } from '../../lib/rr/sockperf.ts';
import { allowDirectPf, readDirectPassStates } from './direct-route-pf.ts';
import { allowDirect, readDirectAcceptPackets } from './direct-route.ts';

const NET = EDGE_NETS['ext-to-sandbox'];
const SERVICE_PORT = 11111;
const HOST_PORT = 18080;
export const EXT_PEER = {
  own: NET.own,
  ipv4: { host: '10.95.1.1', peer: '10.95.1.2', prefixLength: 30 },
  ipv6: { host: 'fd95:1::1', peer: 'fd95:1::2', prefixLength: 64 },
  routes: { ipv4: [NET.ipv4Subnet] },
};

export function preflight(ctx: PreflightContext): Promise<string[]> {
  return cubenetPreflight(ctx);
}

export async function run(ctx: RigContext): Promise<void> {
  const seconds = ctx.param('secondsPerSegment', ctx.quick ? 1 : 5);
  const rounds = ctx.param('rounds', ctx.quick ? 1 : 2);
  const max = ctx.param('maxSamplesPerPath', ctx.samples);
  const net = await openEdgeCubenet(ctx, NET);
  const peer = await createExternalPeer(ctx, EXT_PEER);
  ctx.param('peer', {
    namespace: peer.namespace,
    link: peer.hostInterface,
    host: peer.ipv4.host,
    peer: peer.ipv4.peer,
    routes: [`${NET.ipv4Subnet} via ${peer.ipv4.host}`],
  });

  const forward = { protocol: 'tcp', hostPort: HOST_PORT, sandboxPort: SERVICE_PORT } as const;
  const sandbox = await net.checkout({ forwards: [forward] });
  ctx.param('forward', { ...forward, to: sandbox.addresses.ipv4 });
  if (ctx.platform === 'freebsd') {
    const d = {
      own: NET.own,
      prefix: NET.prefix,
      peerInterface: peer.hostInterface,
      peerIpv4: peer.ipv4.peer,
      sandboxIpv4: sandbox.addresses.ipv4,
      port: SERVICE_PORT,
    };
    ctx.param('directAcceptRule', `pfctl -a cube/${NET.own}-direct: ${await allowDirectPf(ctx, d)}`);
  } else {
    const directRule = await allowDirect(ctx.runner, {
      table: NET.prefix,
      peerInterface: peer.hostInterface,
      bridge: net.bridge,
      sandboxIpv4: sandbox.addresses.ipv4,
      port: SERVICE_PORT,
    });
    ctx.param('directAcceptRule', directRule.slice(1).join(' '));
  }

  const inSandbox = sandboxExec(ctx, sandbox.endpoint);
  // Pinned like net-rr and host-limits (client CPU 0, server CPU 1): on a 2-vCPU host the round trip moves with where
  // the scheduler puts the two ends more than with the path under test.
  const placement = crossCpuPlacement(ctx.host.cpu.threads);
  ctx.param('placement', describePlacement(placement));
  const paths: Record<'forward' | 'direct', RrPath> = {
    forward: { clientExec: peer.exec, serverExec: inSandbox, address: peer.ipv4.host, port: HOST_PORT, placement },
    direct: {
      clientExec: peer.exec,
      serverExec: inSandbox,
      address: sandbox.addresses.ipv4,
      port: SERVICE_PORT,
      placement,
    },
  };
  ctx.param('sockperfCommand', sockperfClientArgv(ctx.platform, paths.forward, seconds, 'FILE').join(' '));
  // One server on the sandbox's address serves both paths (the forward's DNAT lands on the same address and port).
  const server = await startSockperfServer(ctx, { ...paths.direct }, untilListening);
  ctx.defer(() => server.stop());

  const order = abbaOrder(['forward', 'direct'] as const, rounds);
  ctx.param('segmentOrder', order);
  const pooled: Record<'forward' | 'direct', number[]> = { forward: [], direct: [] };
  for (const [i, path] of order.entries()) {
    ctx.signal.throwIfAborted();
    ctx.progress(`rtt ${path}`, i, order.length);
    const rtts = await sockperfBlock(ctx, paths[path], server, seconds, `sockperf-${i}-${path}.csv`);
    // concat, not push(...): a segment can hold more transactions than a call has room for arguments.
    pooled[path] = pooled[path].concat(rtts);
  }
  // One new connection per direct segment passed the rig's accept (nft: its SYN; pf: the state it created); none of
  // the forward path's did.
  const accepted =
    ctx.platform === 'freebsd'
      ? await readDirectPassStates(ctx.runner, NET.own)
      : await readDirectAcceptPackets(ctx.runner, NET.prefix);
  const directSegments = order.filter((p) => p === 'direct').length;
  ctx.param('directAcceptMatched', accepted);
  if (accepted !== directSegments)
    throw new Error(
      `the direct accept matched ${accepted} new connections, expected ${directSegments}: the direct path did not take the route it claims`,
    );
  for (const path of ['forward', 'direct'] as const) {
    const kept = evenSubsample(pooled[path], max);
    ctx.param(`${path}Transactions`, pooled[path].length);
    ctx.param(`${path}Kept`, kept.length);
    const series = ctx.series('rtt', { path });
    for (const x of kept) series.add(x);
  }
  ctx.progress('rtt', order.length, order.length);
}
