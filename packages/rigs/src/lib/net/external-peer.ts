/**
 * The "external" peer of the edge rigs: a network namespace standing in for a client or server on the LAN, joined to
 * the host by a veth pair of its own (not on the sandbox bridge), with a /30 and a /64 on the link. Traffic to it
 * never leaves the host: before returning, the host's route to each peer address is checked to go out through the
 * peer's link. Every object's removal is deferred before it is created. On FreeBSD the peer is a VNET jail on an
 * epair of its own (external-peer-freebsd.ts), with the same names, addresses and routes.
 */
import type { RigContext } from '../../harness/rig-context.ts';
import { createExternalPeerFreeBsd } from './external-peer-freebsd.ts';
import { createExternalPeerLinux } from './external-peer-linux.ts';
import type { ExternalPeer, PeerLinkSpec } from './peer-link.ts';

export function createExternalPeer(ctx: RigContext, spec: PeerLinkSpec): Promise<ExternalPeer> {
  return ctx.platform === 'freebsd' ? createExternalPeerFreeBsd(ctx, spec) : createExternalPeerLinux(ctx, spec);
}
