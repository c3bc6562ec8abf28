/**
 * Two sandbox network stacks joined by a bridge, created by the rig and removed in its deferred cleanup: network
 * namespaces with veth pairs on Linux, VNET jails with epairs on FreeBSD. Everything carries the `cpr-` prefix.
 */
export interface EndpointPair {
  /** argv prefix that runs a command inside side a / side b. */
  execA: string[];
  execB: string[];
  addrA: string;
  addrB: string;
  addr6A: string;
  addr6B: string;
}

/**
 * Addresses inside the pair's own stacks: no route to them exists on the host, so nothing else is reachable. The
 * IPv6 pair is a ULA (fd7b::/64), for the IPv6 round trip net-rr compares with its sandboxes.
 */
export const PAIR_SUBNET = {
  a: '10.123.0.1',
  b: '10.123.0.2',
  prefix: 24,
  a6: 'fd7b::1',
  b6: 'fd7b::2',
  prefix6: 64,
} as const;

/** A short random tag for object names (interface names are limited to 15 characters). */
export function pairTag(): string {
  return Math.floor(Math.random() * 0xffffff)
    .toString(16)
    .padStart(6, '0');
}
