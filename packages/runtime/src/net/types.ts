/**
 * The vocabulary of cubenet, shared by every backend (nftables/netns on Linux, pf/jails on FreeBSD) and by the pools
 * that give each VM an endpoint. Values of these types have passed `validate.ts`: a backend may put them into rule
 * text and argv without further checks.
 */

/** 12 lower-case hex digits, e.g. "0123456789ab". Names the pf anchor `cube/sandbox-<id>` / the nft chain `sbx-<id>`. */
export type SandboxId = string & { readonly __brand: 'SandboxId' };

/** A host interface name: at most 15 characters of [a-zA-Z0-9_.-] (IFNAMSIZ - 1 on Linux and FreeBSD). */
export type InterfaceName = string & { readonly __brand: 'InterfaceName' };

export type IpFamily = 'ipv4' | 'ipv6';

/** One dual-stack address pair (no prefix length; the subnet lengths come from the NetConfig). */
export interface SandboxAddresses {
  ipv4: string;
  ipv6: string;
}

/**
 * A sandbox's egress policy. Entries are addresses or CIDRs, v4 or v6 (normalised by validate.ts).
 * Evaluation order for a new connection the sandbox opens: denyOut drops; allowOut accepts; DNS (tcp/udp 53) to
 * dnsAllow accepts; then, with allowInternetAccess, any public destination accepts; everything else drops.
 * "Public" excludes private, loopback, link-local, CGNAT, multicast, ULA ranges and the host itself (see
 * PRIVATE_RANGES_V4/V6), so other sandboxes and the host's private networks stay unreachable unless allowOut names them.
 */
export interface SandboxPolicy {
  allowOut: string[];
  denyOut: string[];
  dnsAllow: string[];
  allowInternetAccess: boolean;
}

export const DEFAULT_POLICY: SandboxPolicy = Object.freeze({
  allowOut: [],
  denyOut: [],
  dnsAllow: [],
  allowInternetAccess: false,
}) as SandboxPolicy;

export type Protocol = 'tcp' | 'udp';

/** Host port → sandbox port, for connections addressed to the host (DNAT / rdr-to). */
export interface PortForward {
  protocol: Protocol;
  hostPort: number;
  sandboxPort: number;
}

/** Which of a sandbox's address lists a bulk operation touches. */
export type AddressList = 'allowOut' | 'denyOut' | 'dnsAllow';

/** Kind of endpoint: a tap for a VM, or a VM-less endpoint (netns+veth on Linux, VNET jail+epair on FreeBSD). */
export type EndpointKind = 'tap' | 'isolated';

export interface NetConfig {
  /**
   * Recognisable prefix on everything cubenet creates (nft table, interfaces, namespaces, jails, anchors' parent),
   * 2–4 characters [a-z][a-z0-9]*. Reconcile removes whatever carries it and is not in the state. Tests use their own
   * (e.g. "cpt") so they never touch a real deployment ("cpc").
   */
  prefix: string;
  /** IPv4 subnet of the bridge, e.g. "10.77.0.0/24"; the gateway (the host, on the bridge) is its first host address. */
  ipv4Subnet: string;
  /** IPv6 subnet of the bridge, e.g. "fd77::/64"; gateway "::1". */
  ipv6Subnet: string;
  /** Allocatable host-number range inside the subnet, inclusive (default 2 .. last usable). */
  allocatable?: { first: number; last: number };
  /** Folder of the state files (`<stateDir>/<prefix>/<id>.<n>.json`, each written atomically; see state.ts). */
  stateDir: string;
  /** Folder of the controller lock `<prefix>.lock` (default /run/coppice/net: host-wide, like the kernel objects). */
  lockDir?: string;
}

export const DEFAULT_NET_CONFIG: NetConfig = {
  prefix: 'cpc',
  ipv4Subnet: '10.77.0.0/24',
  ipv6Subnet: 'fd77::/64',
  stateDir: '/var/lib/coppice/net',
};

/** Destinations that "internet access" never includes (RFC 6890 special-purpose and private ranges). */
export const PRIVATE_RANGES_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/4',
] as const;

export const PRIVATE_RANGES_V6 = ['::/127', '::ffff:0:0/96', 'fc00::/7', 'fe80::/10', 'ff00::/8'] as const;
