/** What an edge rig asks of its external peer, and what it gets back: the same on Linux and FreeBSD. */
export interface PeerLinkSpec {
  /** Names: namespace (FreeBSD: jail) `<own>-peer`, host end `<own>-h`, peer end `<own>-p`. */
  own: string;
  ipv4: { host: string; peer: string; prefixLength: number };
  ipv6: { host: string; peer: string; prefixLength: number };
  /** Subnets the peer routes via the host (e.g. the sandbox subnet, for a directly routed path). None by default. */
  routes?: { ipv4?: string[]; ipv6?: string[] };
}

export interface ExternalPeer {
  /** The peer's network namespace (Linux) or VNET jail (FreeBSD). */
  namespace: string;
  /** The host end of the peer's link. */
  hostInterface: string;
  /** argv prefix that runs a command inside the peer. */
  exec: string[];
  ipv4: { host: string; peer: string };
  ipv6: { host: string; peer: string };
}

export function peerNames(own: string): { namespace: string; hostInterface: string; peerInterface: string } {
  return { namespace: `${own}-peer`, hostInterface: `${own}-h`, peerInterface: `${own}-p` };
}
