/**
 * The firewall backend: everything cubenet asks of nftables (Linux) or pf (FreeBSD). One instance serves one prefix
 * (one nft table `inet <prefix>` / the anchor tree `<prefix>/*` hooked from the root ruleset). Arguments have been
 * validated (validate.ts) before they reach a backend. Every method is idempotent where the comment says so, so a
 * reconcile after a crash can call it without knowing how far the previous run got.
 */
import type { AddressList, PortForward, SandboxAddresses, SandboxId, SandboxPolicy } from '../types.ts';
import { inSubnet } from '../validate.ts';

/** What a backend needs to render one sandbox's rules. */
export interface SandboxRules {
  id: SandboxId;
  addresses: SandboxAddresses;
  policy: SandboxPolicy;
  forwards: PortForward[];
  /**
   * The sandbox's host-side interface on the bridge (a validated InterfaceName when it comes from cubenet): traffic
   * entering from it must carry the sandbox's addresses.
   */
  hostInterface?: string;
  /**
   * The sandbox's egress limit and its slot (host number), for a backend whose rules carry the limit (pf: `dnpipe`
   * to the slot's dummynet pipe). Backends that shape outside the firewall (nftables + tc) ignore it.
   */
  rateLimit?: { egressMbit: number; slot: number };
}

/** A live sandbox's addresses and policy, before a change. */
export interface SandboxState {
  addresses: SandboxAddresses;
  policy: SandboxPolicy;
}

/** What the kernel holds for one sandbox, as the backend reads it back (for audit and reconcile). */
export interface KernelSandbox {
  id: SandboxId;
  /** Addresses the kernel's per-sandbox hook is keyed on (the nft verdict-map keys / the anchor's `from` addresses). */
  addresses: string[];
  /**
   * What the kernel holds for the sandbox's policy, as names audit compares with `setNames(id, rules)`: the named
   * tables of its anchor (pf: "sandbox_allow"), or its elements in the shared sets (nftables: "allow4 { A . B }").
   */
  sets: string[];
  forwards: PortForward[];
}

export interface ConnectionState {
  /** Original direction source and destination, as the kernel prints them. */
  source: string;
  destination: string;
  /** Reply-direction source (differs from destination after DNAT/rdr). */
  replySource: string;
  protocol: string;
}

export interface FirewallInventory {
  /** The root hook (nft table / root `anchor "<prefix>/*"`) exists. */
  rootHook: boolean;
  sandboxes: KernelSandbox[];
  /** Port forwards present in the kernel whose target is not a known sandbox chain (always a leak). */
  orphanForwards: Array<PortForward & { target: string }>;
  /** Anti-spoofing bindings (host interface → the one source address it may use). */
  bindings: Binding[];
  /**
   * Policy entries keyed by an address that is no sandbox's (nftables: elements of the shared sets whose source
   * address has no member entry), as the backend names them; always a leak. Backends without shared sets omit it.
   */
  strayEntries?: string[];
}

export interface Binding {
  hostInterface: string;
  address: string;
}

export interface FirewallBackend {
  readonly kind: 'nftables' | 'pf';
  /** Reasons this host cannot run the backend (empty when it can). Cheap, changes nothing. */
  preflight(): Promise<string[]>;
  /**
   * Creates the root hook: the table/anchor point, the isolation defaults, NAT for egress and the redirect hook for
   * forwards, for the given bridge and subnets. Idempotent.
   */
  init(setup: { bridge: string; ipv4Subnet: string; ipv6Subnet: string; gateway: SandboxAddresses }): Promise<void>;
  /** Removes the root hook and everything under it (all sandboxes). Idempotent. */
  destroy(): Promise<void>;
  /**
   * Creates or replaces a sandbox's whole policy and forwards in one kernel transaction (nft -f / pfctl -a -f):
   * there is no instant at which a half-applied policy is in force. `previous` is what the last apply installed
   * (forwards or a host interface it no longer lists are taken away).
   */
  applySandbox(rules: SandboxRules, previous?: SandboxRules): Promise<void>;
  /**
   * Adds addresses to one list of a live sandbox (one transaction; already-present entries are fine). `current` is
   * the sandbox as it is before the change (a backend whose sets are shared by all sandboxes diffs against it).
   */
  addAddresses(id: SandboxId, list: AddressList, entries: string[], current?: SandboxState): Promise<void>;
  /** Replaces one list's content in one transaction (nft element deletes+adds / pfctl -T replace -f). */
  replaceAddresses(id: SandboxId, list: AddressList, entries: string[], current?: SandboxState): Promise<void>;
  /** Adds a port forward to a live sandbox (`rules` is the sandbox as it is, without the new forward). */
  addForward(rules: SandboxRules, forward: PortForward): Promise<void>;
  /** Removes a port forward (`rules` is the sandbox as it is, still listing the forward). Idempotent. */
  removeForward(rules: SandboxRules, forward: PortForward): Promise<void>;
  /**
   * Removes the sandbox's chain/anchor, its sets/tables and, when `known` says what they were, its hook entries,
   * forwards and anti-spoof entries (and, with `known.policy`, its elements in shared sets without reading the
   * kernel first). Idempotent (missing is fine).
   */
  removeSandbox(id: SandboxId, known?: Omit<SandboxRules, 'id' | 'policy'> & { policy?: SandboxPolicy }): Promise<void>;
  /**
   * Kills connection states of a sandbox (conntrack -D / pfctl -k): without `to`, every state whose either end is
   * one of its addresses; with `to` (normalised addresses/CIDRs), only the connections the sandbox opened towards
   * a destination inside one of them (what a narrower policy no longer allows).
   */
  killStates(addresses: SandboxAddresses, to?: string[]): Promise<void>;
  /** Connection states touching the given subnets (for audit: a state of an address nobody owns is a leak). */
  listStates(subnets: { ipv4: string; ipv6: string }): Promise<ConnectionState[]>;
  /** Names of the sets/tables (or elements) an applied sandbox has (audit compares them with KernelSandbox.sets). */
  setNames(id: SandboxId, rules?: SandboxRules): string[];
  /** What the kernel holds under this prefix. */
  inventory(): Promise<FirewallInventory>;
  /** Releases what the backend holds open (e.g. a persistent nft process). */
  close?(): void;
  /** Removes forwards and bindings that belong to no sandbox (reconcile). Idempotent. */
  removeStray(stray: {
    forwards: Array<PortForward & { target: string }>;
    bindings: Binding[];
    entries?: string[];
  }): Promise<void>;
}

/**
 * What a policy change withdraws, so the states that the new policy would not allow can be killed: 'all' when
 * internet access is turned off, else the destinations removed from allowOut/dnsAllow or added to denyOut (empty:
 * nothing withdrawn).
 */
export function withdrawnDestinations(before: SandboxPolicy, after: SandboxPolicy): 'all' | string[] {
  if (before.allowInternetAccess && !after.allowInternetAccess) return 'all';
  const out = new Set<string>();
  // Sets, not includes(): replacing a 1 000-entry list would otherwise compare a million pairs.
  const [allowed, dns, denied] = [new Set(after.allowOut), new Set(after.dnsAllow), new Set(before.denyOut)];
  for (const x of before.allowOut) if (!allowed.has(x)) out.add(x);
  for (const x of before.dnsAllow) if (!dns.has(x)) out.add(x);
  for (const x of after.denyOut) if (!denied.has(x)) out.add(x);
  return [...out];
}

/**
 * Whether a destination is among withdrawn entries (addresses and CIDRs, as killStates receives them): exact ones are
 * looked up, only CIDRs are scanned, since a replace withdraws up to thousands of destinations.
 */
export function withdrawnMatcher(to: readonly string[]): (destination: string) => boolean {
  const exact = new Set(to.filter((c) => !c.includes('/')));
  const nets = to.filter((c) => c.includes('/'));
  return (d) => exact.has(d) || nets.some((c) => inSubnet(d, c));
}
