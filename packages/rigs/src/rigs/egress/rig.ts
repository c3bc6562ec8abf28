/**
 * egress: TCP round trip from a sandbox to an external peer through cubenet's NAT, against the host to the same peer
 * directly, IPv4 and IPv6 (see manifest.ts for the clock). On FreeBSD the peer is a VNET jail on an epair of its own
 * and the NAT is pf's `nat on <peer link>` in cubenet's root hook.
 */
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { abbaOrder } from '../../lib/measure/abba-order.ts';
import { EDGE_NETS, openEdgeCubenet } from '../../lib/net/edge-cubenet.ts';
import { routeInterfaceFreeBsd } from '../../lib/net/external-peer-freebsd.ts';
import { createExternalPeer } from '../../lib/net/external-peer.ts';
import { peerNames, type ExternalPeer } from '../../lib/net/peer-link.ts';
import { cubenetPreflight } from '../../lib/net/rig-cubenet.ts';
import { sandboxExec } from '../../lib/net/sandbox-exec.ts';
import { keep } from '../../lib/rr/kept-samples.ts';
import type { RrSide } from '../../lib/rr/rr-path.ts';
import { buildTcpRr, tcpRrRtts } from '../../lib/rr/tcp-rr.ts';

const NET = EDGE_NETS.egress;
export const EGRESS_PEER = {
  own: NET.own,
  ipv4: { host: '10.95.2.1', peer: '10.95.2.2', prefixLength: 30 },
  ipv6: { host: 'fd95:2::1', peer: 'fd95:2::2', prefixLength: 64 },
} as const;

export function preflight(ctx: PreflightContext): Promise<string[]> {
  return cubenetPreflight(ctx);
}

export async function run(ctx: RigContext): Promise<void> {
  const seconds = ctx.param('secondsPerSegment', ctx.quick ? 1 : 4);
  const rounds = ctx.param('roundsPerFamily', ctx.quick ? 1 : 2);
  const max = ctx.param('maxSamplesPerCell', ctx.samples);
  const bin = await buildTcpRr(ctx);
  // FreeBSD: pf translates only on the interface named at init, the peer link (made just after, under this name).
  const net = await openEdgeCubenet(ctx, NET, { egressInterface: peerNames(NET.own).hostInterface });
  // No route back to the sandbox subnet in the peer: a reply can only arrive if the NAT rewrote the source.
  const peer = await createExternalPeer(ctx, EGRESS_PEER);
  ctx.param('peer', { namespace: peer.namespace, link: peer.hostInterface, ...EGRESS_PEER, routesToSandboxes: 'none' });

  const sandbox = await net.checkout({ policy: { allowOut: [peer.ipv4.peer, peer.ipv6.peer] } });
  ctx.param('sandboxPolicy', { allowOut: [peer.ipv4.peer, peer.ipv6.peer], note: 'only the peer; no internet access' });
  for (const family of ['ipv4', 'ipv6'] as const) {
    if (await peerRoutes(ctx, peer, sandbox.addresses[family]))
      throw new Error(`the peer can route to ${sandbox.addresses[family]}: the nat path would not prove the NAT`);
  }

  const order = abbaOrder(['nat', 'direct'] as const, rounds);
  ctx.param('segmentOrder', order);
  ctx.param('tool', 'tcp-rr (lib/rr/tcp-rr.c): one 14-byte message in flight over TCP, Nagle off, for every cell');
  const total = order.length * 2;
  let done = 0;
  let port = 12001;
  for (const family of ['ipv4', 'ipv6'] as const) {
    const server: RrSide = { exec: peer.exec, address: peer[family].peer };
    const clients: Record<'nat' | 'direct', RrSide> = {
      nat: { exec: sandboxExec(ctx, sandbox.endpoint), address: sandbox.addresses[family] },
      direct: { exec: [], address: peer[family].host },
    };
    const pooled: Record<'nat' | 'direct', number[]> = { nat: [], direct: [] };
    for (const path of order) {
      ctx.signal.throwIfAborted();
      ctx.progress(`rtt ${family} ${path}`, done++, total);
      // concat, not push(...): a segment can hold more transactions than a call has room for arguments.
      pooled[path] = pooled[path].concat(await tcpRrRtts(ctx, bin, clients[path], server, port++, seconds));
    }
    for (const path of ['nat', 'direct'] as const) {
      const series = ctx.series('rtt', { family, path });
      for (const x of keep(ctx, `${family}-${path}`, pooled[path], max)) series.add(x);
    }
  }
  ctx.progress('rtt', total, total);
}

/** Whether the peer has a route to `address` (`ip route get` in its namespace; `route -n get` in its jail). */
async function peerRoutes(ctx: RigContext, peer: ExternalPeer, address: string): Promise<boolean> {
  if (ctx.platform === 'freebsd') return (await routeInterfaceFreeBsd(ctx.runner, peer.exec, address)) !== undefined;
  return (await ctx.runner.run(['ip', '-n', peer.namespace, 'route', 'get', address])).code === 0;
}
