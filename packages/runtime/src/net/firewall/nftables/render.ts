/**
 * nft script text for cubenet. Pure functions of validated values (validate.ts guarantees that ids, interface
 * names, addresses and ports contain nothing but what their grammar allows), so interpolation is safe.
 *
 * Layout (one `inet` table and one `bridge` table, both named after the prefix):
 *   inet forward/input: established → accept; IPv6 neighbour discovery → accept; traffic from the bridge jumps by
 *     source address (verdict maps out4/out6) into the sandbox's chain `sbx-<id>`; DNAT'd inbound (forwards) →
 *     accept; anything else from or to the bridge → drop (sandboxes are unreachable unless a forward says so).
 *   sbx-<id>: deny set → drop; allow set → accept; DNS to the dns set → accept; with internet access, anything that
 *     is neither private (PRIVATE_RANGES) nor the host itself → accept; else drop.
 *   inet prerouting: connections addressed to the host hit the fwd4/fwd6 maps (proto . port → address . port).
 *   inet postrouting: sandbox traffic leaving through another interface is masqueraded.
 *   bridge prerouting: anti-spoofing — a bridge port (any interface named <prefix>-*) may only send from its own sandbox's addresses (src4/src6 sets
 *     of ifname . address), ARP included; ports without addresses (idle, recycled endpoints) cannot send IP at all.
 */
import { PRIVATE_RANGES_V4, PRIVATE_RANGES_V6, type AddressList, type PortForward, type SandboxAddresses, type SandboxId, type SandboxPolicy } from '../../types.ts';
import { splitFamilies } from '../../validate.ts';

export interface TableSetup {
  table: string;
  bridge: string;
  ipv4Subnet: string;
  ipv6Subnet: string;
}

const ND = '{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert }';

export function chainName(id: SandboxId): string {
  return `sbx-${id}`;
}

const LIST_TAGS: Record<AddressList, string> = { allowOut: 'a', denyOut: 'd', dnsAllow: 'n' };

export function setName(list: AddressList, family: 'ipv4' | 'ipv6', id: SandboxId): string {
  return `${LIST_TAGS[list]}${family === 'ipv4' ? 4 : 6}-${id}`;
}

export function sandboxSetNames(id: SandboxId): string[] {
  return (['allowOut', 'denyOut', 'dnsAllow'] as const).flatMap((l) => [setName(l, 'ipv4', id), setName(l, 'ipv6', id)]);
}

function elements(list: readonly string[]): string {
  return list.join(', ');
}

/** The root table (idempotent: `add` leaves existing objects; base chains are flushed and refilled). */
export function renderInit(s: TableSetup): string {
  const t = s.table;
  const br = JSON.stringify(s.bridge);
  return `add table inet ${t}
add map inet ${t} out4 { type ipv4_addr : verdict; }
add map inet ${t} out6 { type ipv6_addr : verdict; }
add map inet ${t} fwd4 { type inet_proto . inet_service : ipv4_addr . inet_service; }
add map inet ${t} fwd6 { type inet_proto . inet_service : ipv6_addr . inet_service; }
add set inet ${t} private4 { type ipv4_addr; flags interval; }
add set inet ${t} private6 { type ipv6_addr; flags interval; }
flush set inet ${t} private4
flush set inet ${t} private6
add element inet ${t} private4 { ${elements(PRIVATE_RANGES_V4)} }
add element inet ${t} private6 { ${elements(PRIVATE_RANGES_V6)} }
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
add rule inet ${t} forward iifname ${br} ip saddr vmap @out4
add rule inet ${t} forward iifname ${br} ip6 saddr vmap @out6
add rule inet ${t} forward oifname ${br} ct status dnat accept
add rule inet ${t} forward drop
add rule inet ${t} input iifname != ${br} accept
add rule inet ${t} input ct state established,related accept
add rule inet ${t} input icmpv6 type ${ND} accept
add rule inet ${t} input ip saddr vmap @out4
add rule inet ${t} input ip6 saddr vmap @out6
add rule inet ${t} input drop
add rule inet ${t} prerouting fib daddr type local dnat ip to meta l4proto . th dport map @fwd4
add rule inet ${t} prerouting fib daddr type local dnat ip6 to meta l4proto . th dport map @fwd6
add rule inet ${t} postrouting ip saddr ${s.ipv4Subnet} oifname != ${br} masquerade
add rule inet ${t} postrouting ip6 saddr ${s.ipv6Subnet} oifname != ${br} masquerade
add table bridge ${t}
add set bridge ${t} src4 { type ifname . ipv4_addr; }
add set bridge ${t} src6 { type ifname . ipv6_addr; }
add chain bridge ${t} prerouting { type filter hook prerouting priority filter; policy accept; }
flush chain bridge ${t} prerouting
add rule bridge ${t} prerouting iifname "${t}-*" ether type arp iifname . arp saddr ip != @src4 drop
add rule bridge ${t} prerouting iifname "${t}-*" ether type ip iifname . ip saddr != @src4 drop
add rule bridge ${t} prerouting iifname "${t}-*" ether type ip6 ip6 saddr fe80::/10 accept
add rule bridge ${t} prerouting iifname "${t}-*" ether type ip6 ip6 saddr :: accept
add rule bridge ${t} prerouting iifname "${t}-*" ether type ip6 iifname . ip6 saddr != @src6 drop
`;
}

function renderSets(t: string, id: SandboxId, policy: SandboxPolicy): string {
  let out = '';
  for (const list of ['allowOut', 'denyOut', 'dnsAllow'] as const) {
    const fam = splitFamilies(policy[list]);
    for (const family of ['ipv4', 'ipv6'] as const) {
      const name = setName(list, family, id);
      out += `add set inet ${t} ${name} { type ${family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr'}; flags interval; auto-merge; }\n`;
      out += `flush set inet ${t} ${name}\n`;
      if (fam[family].length) out += `add element inet ${t} ${name} { ${elements(fam[family])} }\n`;
    }
  }
  return out;
}

/**
 * Creates or replaces one sandbox's chain, sets, verdict-map entries, anti-spoof entries and forwards in one script.
 * `previous` (what the last apply installed) lets it take away forwards and spoof entries no longer wanted.
 */
export function renderSandbox(t: string, r: SandboxSpec, previous?: SandboxSpec): string {
  const c = chainName(r.id);
  const s = (l: AddressList, f: 'ipv4' | 'ipv6') => setName(l, f, r.id);
  let out = renderSets(t, r.id, r.policy);
  out += `add chain inet ${t} ${c}\nflush chain inet ${t} ${c}\n`;
  out += `add rule inet ${t} ${c} ip daddr @${s('denyOut', 'ipv4')} drop\n`;
  out += `add rule inet ${t} ${c} ip6 daddr @${s('denyOut', 'ipv6')} drop\n`;
  out += `add rule inet ${t} ${c} ip daddr @${s('allowOut', 'ipv4')} accept\n`;
  out += `add rule inet ${t} ${c} ip6 daddr @${s('allowOut', 'ipv6')} accept\n`;
  out += `add rule inet ${t} ${c} meta l4proto { tcp, udp } th dport 53 ip daddr @${s('dnsAllow', 'ipv4')} accept\n`;
  out += `add rule inet ${t} ${c} meta l4proto { tcp, udp } th dport 53 ip6 daddr @${s('dnsAllow', 'ipv6')} accept\n`;
  if (r.policy.allowInternetAccess) {
    out += `add rule inet ${t} ${c} ip daddr @private4 drop\n`;
    out += `add rule inet ${t} ${c} ip6 daddr @private6 drop\n`;
    out += `add rule inet ${t} ${c} fib daddr type local drop\n`;
    out += `add rule inet ${t} ${c} accept\n`;
  }
  out += `add rule inet ${t} ${c} drop\n`;
  // `add` of an element that exists with the same value is a no-op, so re-applying is safe.
  out += `add element inet ${t} out4 { ${r.addresses.ipv4} : jump ${c} }\n`;
  out += `add element inet ${t} out6 { ${r.addresses.ipv6} : jump ${c} }\n`;
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

export interface SandboxSpec {
  id: SandboxId;
  addresses: SandboxAddresses;
  policy: SandboxPolicy;
  forwards: PortForward[];
  hostInterface?: string;
}

export function sameForward(a: PortForward, b: PortForward): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && a.sandboxPort === b.sandboxPort;
}

/**
 * nft fails on deleting a missing element or object; adding the exact object first and then deleting it in the same
 * transaction is idempotent ("ensure absent") and still fails loudly if someone else holds the key with other data.
 */
export function renderSpoofEntries(t: string, hostInterface: string, a: SandboxAddresses, want: 'present' | 'absent'): string {
  const i = JSON.stringify(hostInterface);
  let out = `add element bridge ${t} src4 { ${i} . ${a.ipv4} }\nadd element bridge ${t} src6 { ${i} . ${a.ipv6} }\n`;
  if (want === 'absent') out += `delete element bridge ${t} src4 { ${i} . ${a.ipv4} }\ndelete element bridge ${t} src6 { ${i} . ${a.ipv6} }\n`;
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

/** Removes everything of one sandbox, idempotently (each object is ensured, then deleted). */
export function renderRemoveSandbox(t: string, id: SandboxId, known?: Omit<SandboxSpec, 'id' | 'policy'>): string {
  const c = chainName(id);
  let out = `add chain inet ${t} ${c}\n`;
  if (known) {
    out += `add element inet ${t} out4 { ${known.addresses.ipv4} : jump ${c} }\n`;
    out += `add element inet ${t} out6 { ${known.addresses.ipv6} : jump ${c} }\n`;
    out += `delete element inet ${t} out4 { ${known.addresses.ipv4} }\n`;
    out += `delete element inet ${t} out6 { ${known.addresses.ipv6} }\n`;
    for (const f of known.forwards) out += renderForward(t, known.addresses, f, 'absent');
    if (known.hostInterface) out += renderSpoofEntries(t, known.hostInterface, known.addresses, 'absent');
  }
  out += `delete chain inet ${t} ${c}\n`;
  for (const list of ['allowOut', 'denyOut', 'dnsAllow'] as const) {
    for (const family of ['ipv4', 'ipv6'] as const) {
      const name = setName(list, family, id);
      out += `add set inet ${t} ${name} { type ${family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr'}; flags interval; auto-merge; }\ndelete set inet ${t} ${name}\n`;
    }
  }
  return out;
}

export function renderAddElements(t: string, id: SandboxId, list: AddressList, entries: string[], replace: boolean): string {
  const fam = splitFamilies(entries);
  let out = '';
  for (const family of ['ipv4', 'ipv6'] as const) {
    const name = setName(list, family, id);
    if (replace) out += `flush set inet ${t} ${name}\n`;
    if (fam[family].length) out += `add element inet ${t} ${name} { ${elements(fam[family])} }\n`;
  }
  return out;
}
