/**
 * nft script text for cubenet. Pure functions of validated values (validate.ts guarantees that ids, interface
 * names, addresses and ports contain nothing but what their grammar allows), so interpolation is safe.
 *
 * Layout: a fixed set of objects per prefix, whatever the number of sandboxes. nft reads the table's objects (and
 * the elements of plain interval sets) before every transaction, so per-sandbox chains and sets made every change
 * cost O(sandboxes); here a sandbox is only elements in shared sets, keyed by its own address, and a policy change
 * or a release is element deletes and adds of that sandbox's keys in one transaction.
 *
 *   inet forward/input: established → accept; IPv6 neighbour discovery → accept; traffic from the bridge whose
 *     source is a checked-out sandbox (sets members4/members6, each element commented "sbx-<id>") jumps to the
 *     chain `egress`; DNAT'd inbound (forwards) → accept; anything else from or to the bridge → drop.
 *   egress dispatches on the low 5 bits of the source address (the sandbox's host number) to one of 32 chains per
 *     family, egress4_<k>/egress6_<k>, each keyed by `source . destination`:
 *     deny4/deny6 (exact addresses, hash) and deny4net_<k>/deny6net_<k> (CIDRs, interval) → drop;
 *     allow4/allow6, allow4net_<k>/allow6net_<k> → accept; TCP/UDP 53 to dns4/dns6, dns4net_<k>/dns6net_<k> →
 *     accept; a source in internet4/internet6 to anything neither private (private4/private6) nor the host →
 *     accept; else drop. The CIDR sets are split in 32 shards (CIDR_SHARDS) because the kernel's set type for concatenated
 *     ranges (pipapo) rewrites the whole set on every transaction that deletes from it: 52 ms for one delete in a
 *     set of 1 000 IPv6 prefixes, ~1.5 ms in one of 60.
 *   inet prerouting: connections addressed to the host hit the fwd4/fwd6 maps (proto . port → address . port).
 *   inet postrouting: sandbox traffic leaving through another interface is masqueraded.
 *   bridge prerouting: anti-spoofing — a bridge port (any interface named <prefix>-*) may only send from its own
 *     sandbox's addresses (src4/src6 sets of ifname . address), ARP included; ports without addresses (idle,
 *     recycled endpoints) cannot send IP at all. Link-local IPv6 (needed for neighbour discovery) passes, but a
 *     neighbour advertisement may only claim a target address the port owns (nd6: ifname . target) or a
 *     link-local one, and router advertisements from sandbox ports are dropped.
 */
import {
  PRIVATE_RANGES_V4,
  PRIVATE_RANGES_V6,
  type AddressList,
  type PortForward,
  type SandboxAddresses,
  type SandboxId,
  type SandboxPolicy,
} from '../../types.ts';
import { ipv4ToNumber, ipv6ToGroups } from '../../validate.ts';

export interface TableSetup {
  table: string;
  bridge: string;
  ipv4Subnet: string;
  ipv6Subnet: string;
}

export interface SandboxSpec {
  id: SandboxId;
  addresses: SandboxAddresses;
  policy: SandboxPolicy;
  forwards: PortForward[];
  hostInterface?: string;
}

const ND = '{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert }';

const LIST_SETS: Record<AddressList, string> = { allowOut: 'allow', denyOut: 'deny', dnsAllow: 'dns' };
const FAMILIES = ['ipv4', 'ipv6'] as const;
type Family = (typeof FAMILIES)[number];
const digit = (f: Family) => (f === 'ipv4' ? 4 : 6);
const addrType = (f: Family) => (f === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr');

/** Shards of the CIDR sets (a power of two: the shard is the source address's low bits). */
export const CIDR_SHARDS = 32;
const SHARDS = Array.from({ length: CIDR_SHARDS }, (_, k) => k);

/**
 * The shared set that holds one list's entries of one family: exact addresses (one hash set) or CIDRs (the interval
 * set of the source's shard).
 */
export function policySetName(list: AddressList, family: Family, cidr: false): string;
export function policySetName(list: AddressList, family: Family, cidr: true, shard: number): string;
export function policySetName(list: AddressList, family: Family, cidr: boolean, shard = 0): string {
  return `${LIST_SETS[list]}${digit(family)}${cidr ? `net_${shard}` : ''}`;
}

/** The shard of a sandbox address: its low bits (the low bits of its host number). */
export function shardOf(address: string): number {
  const v4 = ipv4ToNumber(address);
  return (v4 !== undefined ? v4 : ipv6ToGroups(address)![7]!) & (CIDR_SHARDS - 1);
}

/** Every shared set keyed by `sandbox address . destination`. */
export const POLICY_SETS: readonly string[] = (['allowOut', 'denyOut', 'dnsAllow'] as const).flatMap((l) =>
  FAMILIES.flatMap((f) => [policySetName(l, f, false), ...SHARDS.map((k) => policySetName(l, f, true, k))]),
);
/** Sets keyed by the sandbox address alone. */
export const INTERNET_SETS = { ipv4: 'internet4', ipv6: 'internet6' } as const;
export const MEMBER_SETS = { ipv4: 'members4', ipv6: 'members6' } as const;

/** The comment on a sandbox's members4/members6 elements: how the kernel says which sandbox an address is. */
export function memberComment(id: SandboxId): string {
  return `sbx-${id}`;
}

/** A sandbox's elements in the shared sets: set name → element keys (`<sandbox address> . <destination>`). */
export type SandboxElements = Map<string, Set<string>>;

/**
 * The elements a policy installs. CIDRs nested in another CIDR of the same list are left out (the interval sets
 * refuse an element inside another of the same key, and the outer one already matches everything they would).
 */
export function sandboxElements(a: SandboxAddresses, policy: SandboxPolicy): SandboxElements {
  const out: SandboxElements = new Map();
  for (const list of ['allowOut', 'denyOut', 'dnsAllow'] as const) addListElements(out, a, list, policy[list]);
  if (policy.allowInternetAccess) for (const family of FAMILIES) put(out, INTERNET_SETS[family], a[family]);
  return out;
}

function put(out: SandboxElements, set: string, key: string): void {
  let s = out.get(set);
  if (!s) out.set(set, (s = new Set()));
  s.add(key);
}

/** Adds the elements one list installs (exact addresses one by one, the outermost CIDRs of each family) to `out`. */
function addListElements(
  out: SandboxElements,
  a: SandboxAddresses,
  list: AddressList,
  entries: readonly string[],
): void {
  const cidrs: Record<Family, string[]> = { ipv4: [], ipv6: [] };
  const exact = { ipv4: policySetName(list, 'ipv4', false), ipv6: policySetName(list, 'ipv6', false) };
  for (const e of entries) {
    const family: Family = e.includes(':') ? 'ipv6' : 'ipv4';
    if (e.includes('/')) cidrs[family].push(e);
    else put(out, exact[family], `${a[family]} . ${e}`);
  }
  addCidrElements(out, a, list, cidrs);
}

function addCidrElements(
  out: SandboxElements,
  a: SandboxAddresses,
  list: AddressList,
  cidrs: Record<Family, string[]>,
): void {
  for (const family of FAMILIES) {
    if (!cidrs[family].length) continue;
    const set = policySetName(list, family, true, shardOf(a[family]));
    for (const e of outermostCidrs(cidrs[family])) put(out, set, `${a[family]} . ${e}`);
  }
}

/** Element keys by set, as lists: what a list change deletes or adds (each key once; see listElementChanges). */
export type ElementLists = Map<string, string[]>;

/**
 * What changes in the kernel when one list goes from `before` to `after` (both normalised, without duplicates):
 * the elements to delete and to add, computed from the entries that differ, so an add of one address to a list of
 * thousands costs O(list) set lookups rather than building the elements of the whole policy twice. CIDRs are the
 * exception when one of them changes: which ones are installed (the outermost) depends on the rest of the family's
 * CIDRs. The same as diffing sandboxElements of the two policies (tested).
 */
export function listElementChanges(
  a: SandboxAddresses,
  list: AddressList,
  before: readonly string[],
  after: readonly string[],
): { gone: ElementLists; added: ElementLists } {
  const was = new Set(before);
  const now = new Set(after);
  const gone: ElementLists = new Map();
  const added: ElementLists = new Map();
  const append = (into: ElementLists, set: string, key: string) => {
    const keys = into.get(set);
    if (keys) keys.push(key);
    else into.set(set, [key]);
  };
  const exact = { ipv4: policySetName(list, 'ipv4', false), ipv6: policySetName(list, 'ipv6', false) };
  let cidrChanged = false;
  for (const [from, other, into] of [
    [before, now, gone],
    [after, was, added],
  ] as const) {
    for (const e of from) {
      if (other.has(e)) continue;
      if (e.includes('/')) cidrChanged = true;
      else if (e.includes(':')) append(into, exact.ipv6, `${a.ipv6} . ${e}`);
      else append(into, exact.ipv4, `${a.ipv4} . ${e}`);
    }
  }
  if (cidrChanged) {
    const cidrsOf = (entries: readonly string[]) => {
      const out: Record<Family, string[]> = { ipv4: [], ipv6: [] };
      for (const e of entries) if (e.includes('/')) out[e.includes(':') ? 'ipv6' : 'ipv4'].push(e);
      return out;
    };
    const old: SandboxElements = new Map();
    const next: SandboxElements = new Map();
    addCidrElements(old, a, list, cidrsOf(before));
    addCidrElements(next, a, list, cidrsOf(after));
    for (const [from, other, into] of [
      [old, next, gone],
      [next, old, added],
    ] as const) {
      for (const [set, keys] of from) for (const k of keys) if (!other.get(set)?.has(k)) append(into, set, k);
    }
  }
  return { gone, added };
}

/** Deletes of `gone`, then adds of `added` (disjoint, as listElementChanges makes them): one line per set each. */
export function renderListChange(t: string, changes: { gone: ElementLists; added: ElementLists }): string {
  let out = '';
  for (const [set, keys] of changes.gone) out += `delete element inet ${t} ${set} { ${keys.join(', ')} }\n`;
  for (const [set, keys] of changes.added) out += `add element inet ${t} ${set} { ${keys.join(', ')} }\n`;
  return out;
}

/** The CIDRs (normalised, one family) not contained in another one of the list. */
export function outermostCidrs(cidrs: readonly string[]): string[] {
  const parsed = cidrs.map((text) => {
    const [address, len] = text.split('/') as [string, string];
    const v4 = ipv4ToNumber(address);
    const bits = v4 !== undefined ? 32 : 128;
    const start = v4 !== undefined ? BigInt(v4) : ipv6ToGroups(address)!.reduce((n, g) => (n << 16n) | BigInt(g), 0n);
    const size = 1n << BigInt(bits - Number(len));
    return { text, start, end: start + size - 1n };
  });
  // Prefixes either nest or are disjoint: by start, the widest first, each one inside the last kept is covered.
  parsed.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : x.end > y.end ? -1 : x.end < y.end ? 1 : 0));
  const out: string[] = [];
  let keptEnd = -1n;
  for (const p of parsed) {
    if (p.end <= keptEnd) continue;
    out.push(p.text);
    keptEnd = p.end;
  }
  return out;
}

/** One element per line, as `<set> { <key> }`: how audit names an element (KernelSandbox.sets for this backend). */
export function describeElements(elements: SandboxElements | ElementLists): string[] {
  const out: string[] = [];
  for (const [set, keys] of elements) for (const k of keys) out.push(`${set} { ${k} }`);
  return out.sort();
}

/** The root table (idempotent: `add` leaves existing objects; base chains and `egress` are flushed and refilled). */
export function renderInit(s: TableSetup): string {
  const t = s.table;
  const br = JSON.stringify(s.bridge);
  const sets = FAMILIES.flatMap((f) => [
    ...(['allowOut', 'denyOut', 'dnsAllow'] as const).flatMap((l) => [
      `add set inet ${t} ${policySetName(l, f, false)} { type ${addrType(f)} . ${addrType(f)}; }`,
      ...SHARDS.map(
        (k) =>
          `add set inet ${t} ${policySetName(l, f, true, k)} { type ${addrType(f)} . ${addrType(f)}; flags interval; }`,
      ),
    ]),
    `add set inet ${t} ${INTERNET_SETS[f]} { type ${addrType(f)}; }`,
    `add set inet ${t} ${MEMBER_SETS[f]} { type ${addrType(f)}; }`,
  ]);
  const egress: string[] = [];
  for (const f of FAMILIES) {
    const m = f === 'ipv4' ? 'ip' : 'ip6';
    const key = `${m} saddr . ${m} daddr`;
    const low = (k: number) => (f === 'ipv4' ? `0.0.0.${k}` : `::${k.toString(16)}`);
    egress.push(
      `add rule inet ${t} egress meta nfproto ${f} ${m} saddr & ${low(CIDR_SHARDS - 1)} vmap { ${SHARDS.map((k) => `${low(k)} : goto egress${digit(f)}_${k}`).join(', ')} }`,
    );
    for (const k of SHARDS) {
      const c = `egress${digit(f)}_${k}`;
      egress.unshift(`add chain inet ${t} ${c}`, `flush chain inet ${t} ${c}`);
      for (const [list, verdict] of [
        ['denyOut', 'drop'],
        ['allowOut', 'accept'],
        ['dnsAllow', 'accept'],
      ] as const) {
        const dns = list === 'dnsAllow' ? 'meta l4proto { tcp, udp } th dport 53 ' : '';
        egress.push(`add rule inet ${t} ${c} ${dns}${key} @${policySetName(list, f, false)} ${verdict}`);
        egress.push(`add rule inet ${t} ${c} ${dns}${key} @${policySetName(list, f, true, k)} ${verdict}`);
      }
      egress.push(
        `add rule inet ${t} ${c} ${m} saddr @${INTERNET_SETS[f]} ${m} daddr != @private${digit(f)} fib daddr type != local accept`,
      );
      egress.push(`add rule inet ${t} ${c} drop`);
    }
  }
  egress.push(`add rule inet ${t} egress drop`);
  return `add table inet ${t}
add map inet ${t} fwd4 { type inet_proto . inet_service : ipv4_addr . inet_service; }
add map inet ${t} fwd6 { type inet_proto . inet_service : ipv6_addr . inet_service; }
add set inet ${t} private4 { type ipv4_addr; flags interval; }
add set inet ${t} private6 { type ipv6_addr; flags interval; }
flush set inet ${t} private4
flush set inet ${t} private6
add element inet ${t} private4 { ${PRIVATE_RANGES_V4.join(', ')} }
add element inet ${t} private6 { ${PRIVATE_RANGES_V6.join(', ')} }
${sets.join('\n')}
add chain inet ${t} egress
flush chain inet ${t} egress
${egress.join('\n')}
add chain inet ${t} forward { type filter hook forward priority filter; policy accept; }
add chain inet ${t} input { type filter hook input priority filter; policy accept; }
add chain inet ${t} prerouting { type nat hook prerouting priority dstnat; policy accept; }
add chain inet ${t} postrouting { type nat hook postrouting priority srcnat; policy accept; }
flush chain inet ${t} forward
flush chain inet ${t} input
flush chain inet ${t} prerouting
flush chain inet ${t} postrouting
add rule inet ${t} forward iifname != ${br} oifname != ${br} accept
add rule inet ${t} forward ct state established,related accept
add rule inet ${t} forward ct state invalid drop
add rule inet ${t} forward icmpv6 type ${ND} accept
add rule inet ${t} forward iifname ${br} ip saddr @members4 jump egress
add rule inet ${t} forward iifname ${br} ip6 saddr @members6 jump egress
add rule inet ${t} forward oifname ${br} ct status dnat accept
add rule inet ${t} forward drop
add rule inet ${t} input iifname != ${br} accept
add rule inet ${t} input ct state established,related accept
add rule inet ${t} input icmpv6 type ${ND} accept
add rule inet ${t} input ip saddr @members4 jump egress
add rule inet ${t} input ip6 saddr @members6 jump egress
add rule inet ${t} input drop
add rule inet ${t} prerouting fib daddr type local dnat ip to meta l4proto . th dport map @fwd4
add rule inet ${t} prerouting fib daddr type local dnat ip6 to meta l4proto . th dport map @fwd6
add rule inet ${t} postrouting ip saddr ${s.ipv4Subnet} oifname != ${br} masquerade
add rule inet ${t} postrouting ip6 saddr ${s.ipv6Subnet} oifname != ${br} masquerade
add table bridge ${t}
add set bridge ${t} src4 { type ifname . ipv4_addr; }
add set bridge ${t} src6 { type ifname . ipv6_addr; }
add set bridge ${t} nd6 { typeof iifname . @th,64,128; }
add chain bridge ${t} prerouting { type filter hook prerouting priority filter; policy accept; }
flush chain bridge ${t} prerouting
add rule bridge ${t} prerouting iifname "${t}-*" ether type arp iifname . arp saddr ip != @src4 drop
add rule bridge ${t} prerouting iifname "${t}-*" ether type ip iifname . ip saddr != @src4 drop
add rule bridge ${t} prerouting iifname "${t}-*" ether type ip6 icmpv6 type nd-router-advert drop
add rule bridge ${t} prerouting iifname "${t}-*" ether type ip6 icmpv6 type nd-neighbor-advert @th,64,16 & 0xffc0 != 0xfe80 iifname . @th,64,128 != @nd6 drop
add rule bridge ${t} prerouting iifname "${t}-*" ether type ip6 ip6 saddr fe80::/10 accept
add rule bridge ${t} prerouting iifname "${t}-*" ether type ip6 ip6 saddr :: accept
add rule bridge ${t} prerouting iifname "${t}-*" ether type ip6 iifname . ip6 saddr != @src6 drop
`;
}

/** Per set, the keys `before` has and `after` lacks (gone) and those `after` adds (added); sets with neither omitted. */
export function elementDiff(
  before: SandboxElements,
  after: SandboxElements,
): Array<{ set: string; gone: string[]; added: string[] }> {
  const out: Array<{ set: string; gone: string[]; added: string[] }> = [];
  for (const set of new Set([...before.keys(), ...after.keys()])) {
    const was = before.get(set);
    const now = after.get(set);
    const gone: string[] = [];
    const added: string[] = [];
    for (const k of was ?? []) if (!now?.has(k)) gone.push(k);
    for (const k of now ?? []) if (!was?.has(k)) added.push(k);
    if (gone.length || added.length) out.push({ set, gone, added });
  }
  return out;
}

/** Deletes of `before − after` first (an interval set refuses a new CIDR inside one still present), then adds. */
export function renderElementChanges(t: string, before: SandboxElements, after: SandboxElements): string {
  let deletes = '';
  let adds = '';
  for (const { set, gone, added } of elementDiff(before, after)) {
    if (gone.length) deletes += `delete element inet ${t} ${set} { ${gone.join(', ')} }\n`;
    if (added.length) adds += `add element inet ${t} ${set} { ${added.join(', ')} }\n`;
  }
  return deletes + adds;
}

function renderMembers(t: string, id: SandboxId, a: SandboxAddresses, want: 'present' | 'absent'): string {
  const c = JSON.stringify(memberComment(id));
  let out = `add element inet ${t} ${MEMBER_SETS.ipv4} { ${a.ipv4} comment ${c} }\nadd element inet ${t} ${MEMBER_SETS.ipv6} { ${a.ipv6} comment ${c} }\n`;
  if (want === 'absent')
    out += `delete element inet ${t} ${MEMBER_SETS.ipv4} { ${a.ipv4} }\ndelete element inet ${t} ${MEMBER_SETS.ipv6} { ${a.ipv6} }\n`;
  return out;
}

/**
 * Creates or replaces one sandbox's policy elements, membership, anti-spoof entries and forwards in one script.
 * `held` is what the sandbox's keys hold in the kernel now (the elements of the previous policy, when that is
 * known to be in force); `previous` lets it take away forwards and spoof entries no longer wanted.
 */
export function renderSandbox(t: string, r: SandboxSpec, held: SandboxElements, previous?: SandboxSpec): string {
  let out = renderElementChanges(t, held, sandboxElements(r.addresses, r.policy));
  // `add` of an element that exists is a no-op, so re-applying is safe.
  out += renderMembers(t, r.id, r.addresses, 'present');
  if (previous?.hostInterface && previous.hostInterface !== r.hostInterface) {
    out += renderSpoofEntries(t, previous.hostInterface, previous.addresses, 'absent');
  }
  if (r.hostInterface) out += renderSpoofEntries(t, r.hostInterface, r.addresses, 'present');
  for (const f of previous?.forwards ?? []) {
    if (!r.forwards.some((g) => sameForward(f, g))) out += renderForward(t, previous!.addresses, f, 'absent');
  }
  for (const f of r.forwards) out += renderForward(t, r.addresses, f, 'present');
  return out;
}

/** Removes everything of one sandbox: its membership first (from then on it can open nothing), its elements, the rest. */
export function renderRemoveSandbox(
  t: string,
  id: SandboxId,
  known: { addresses: SandboxAddresses; forwards: PortForward[]; hostInterface?: string },
  held: SandboxElements,
): string {
  let out = renderMembers(t, id, known.addresses, 'absent');
  out += renderElementChanges(t, held, new Map());
  for (const f of known.forwards) out += renderForward(t, known.addresses, f, 'absent');
  if (known.hostInterface) out += renderSpoofEntries(t, known.hostInterface, known.addresses, 'absent');
  return out;
}

export function sameForward(a: PortForward, b: PortForward): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && a.sandboxPort === b.sandboxPort;
}

/** The IPv6 address as the 128-bit integer the nd6 set holds (it is keyed by a raw payload field). */
export function ipv6Integer(address: string): string {
  return `0x${ipv6ToGroups(address)!
    .map((g) => g.toString(16).padStart(4, '0'))
    .join('')}`;
}

/**
 * nft fails on deleting a missing element or object; adding the exact object first and then deleting it in the same
 * transaction is idempotent ("ensure absent") and still fails loudly if someone else holds the key with other data.
 */
export function renderSpoofEntries(
  t: string,
  hostInterface: string,
  a: SandboxAddresses,
  want: 'present' | 'absent',
): string {
  const i = JSON.stringify(hostInterface);
  const els: Array<[string, string]> = [
    ['src4', `${i} . ${a.ipv4}`],
    ['src6', `${i} . ${a.ipv6}`],
    ['nd6', `${i} . ${ipv6Integer(a.ipv6)}`],
  ];
  let out = els.map(([set, el]) => `add element bridge ${t} ${set} { ${el} }\n`).join('');
  if (want === 'absent') out += els.map(([set, el]) => `delete element bridge ${t} ${set} { ${el} }\n`).join('');
  return out;
}

export function renderForward(t: string, a: SandboxAddresses, f: PortForward, want: 'present' | 'absent'): string {
  const key = `${f.protocol} . ${f.hostPort}`;
  let out =
    `add element inet ${t} fwd4 { ${key} : ${a.ipv4} . ${f.sandboxPort} }\n` +
    `add element inet ${t} fwd6 { ${key} : ${a.ipv6} . ${f.sandboxPort} }\n`;
  if (want === 'absent') out += `delete element inet ${t} fwd4 { ${key} }\ndelete element inet ${t} fwd6 { ${key} }\n`;
  return out;
}
