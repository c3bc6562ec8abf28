import type { FreeBsdHost } from './host.ts';
import { type Cidr, type Family, cidrContains, cidrKey, compareCidr, familyOf, formatCidr, parseCidr } from './inet.ts';
import { interfaceAddresses, netState } from './netif.ts';
import { ICMP6_TYPES, type PfHost, type PfRule, SERVICES } from './pf-grammar.ts';

/**
 * pf(4)'s kernel side for the model: rulesets by anchor path ("" is the main ruleset), tables per ruleset, the
 * state table, the limits of `set limit`, and a packet evaluator that walks the main ruleset and its anchors the
 * way pf does (last matching rule wins, a matching `quick` rule ends evaluation, an existing state short-cuts the
 * rules). Rulesets with no rules and no tables cease to exist, as pf_remove_if_empty_ruleset() does.
 */
export interface PfTable {
  entries: Map<string, Cidr>;
  persist: boolean;
  constant: boolean;
}

export interface PfKernelRuleset {
  filter: PfRule[];
  nat: PfRule[];
  tables: Map<string, PfTable>;
}

export interface PfState {
  id: string;
  proto: string;
  af: Family;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  direction: 'in' | 'out';
  /** Label of the rule that created the state (pfctl -k label). */
  label?: string;
  /** Tag of the rule that created the state: packets matching the state carry it again. */
  tag?: string;
  anchor: string;
  /** Address/port the destination was rewritten to by rdr-to. */
  rdr?: { dst: string; dport: number };
  /** dnpipe of the rule that created the state. */
  dnpipe?: number;
}

export interface PfLimits {
  states: number;
  'src-nodes': number;
  frags: number;
  'table-entries': number;
  anchors: number;
}

export interface PfKernel {
  enabled: boolean;
  limits: PfLimits;
  rulesets: Map<string, PfKernelRuleset>;
  states: PfState[];
  nextStateId: bigint;
}

export function pfKernel(host: FreeBsdHost): PfKernel {
  return host.part('pf', () => ({
    enabled: true,
    // pf.conf(5) defaults; anchors as in FreeBSD 15's `set limit anchors` (see packages/runtime/docs/freebsd.md).
    limits: { states: 100000, 'src-nodes': 100000, frags: 5000, 'table-entries': 200000, anchors: 512 },
    rulesets: new Map([['', emptyRuleset()]]),
    states: [],
    nextStateId: 0x6543210000000001n,
  }));
}

export function emptyRuleset(): PfKernelRuleset {
  return { filter: [], nat: [], tables: new Map() };
}

/** Anchors that exist: every ruleset with content, plus the parents implied by their paths (pf creates them). */
export function anchorPaths(k: PfKernel): string[] {
  const paths = new Set<string>();
  for (const [path, rs] of k.rulesets) {
    if (path === '' || isEmpty(rs)) continue;
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) paths.add(parts.slice(0, i).join('/'));
  }
  // An anchor rule in a ruleset references (and so creates) the called anchor's parent path.
  for (const rs of k.rulesets.values()) {
    for (const r of rs.filter) {
      if (r.action !== 'anchor' || !r.anchor) continue;
      const base = r.anchor.endsWith('/*') ? r.anchor.slice(0, -2) : r.anchor === '*' ? '' : r.anchor;
      if (base) {
        const parts = base.split('/');
        for (let i = 1; i <= parts.length; i++) paths.add(parts.slice(0, i).join('/'));
      }
    }
  }
  return [...paths].sort();
}

export function isEmpty(rs: PfKernelRuleset): boolean {
  return rs.filter.length === 0 && rs.nat.length === 0 && rs.tables.size === 0;
}

export function pruneEmpty(k: PfKernel): void {
  for (const [path, rs] of k.rulesets) if (path !== '' && isEmpty(rs)) k.rulesets.delete(path);
}

export function tableEntryCount(k: PfKernel): number {
  let n = 0;
  for (const rs of k.rulesets.values()) for (const t of rs.tables.values()) n += t.entries.size;
  return n;
}

export function sortedEntries(t: PfTable): Cidr[] {
  return [...t.entries.values()].sort(compareCidr);
}

export function entryMap(cidrs: Cidr[]): Map<string, Cidr> {
  return new Map(cidrs.map((c) => [cidrKey(c), c]));
}

// ---------------------------------------------------------------------------------------------------------------
// Printing rules the way pfctl -sr / -sn does.

function serviceName(port: number): string {
  const name = Object.entries(SERVICES).find(([, p]) => p === port)?.[0];
  return name ?? String(port);
}

function printHost(h: PfHost): string {
  switch (h.kind) {
    case 'any':
      return 'any';
    case 'table':
      return `<${h.name}>`;
    case 'self':
      return 'self';
    case 'addr':
      return formatCidr(h.cidr);
    case 'iface':
      return h.dynamic ? `(${h.name})` : h.name;
  }
}

export function printRule(r: PfRule, numericPorts: boolean): string {
  const port = (p: number) => `port = ${numericPorts ? p : serviceName(p)}`;
  const parts: string[] = [];
  if (r.action === 'anchor') return `anchor "${r.anchor}" all`;
  if (r.action === 'nat') parts.push('nat');
  else if (r.action === 'block') parts.push(`block ${r.blockPolicy ?? 'drop'}`);
  else parts.push('pass');
  if (r.direction) parts.push(r.direction);
  if (r.log) parts.push('log');
  if (r.quick) parts.push('quick');
  if (r.iface) parts.push(`on ${r.ifaceNot ? '! ' : ''}${r.iface}`);
  if (r.af) parts.push(r.af);
  // /etc/protocols names ICMPv6 "ipv6-icmp", which is what pfctl prints.
  if (r.proto) parts.push(`proto ${r.proto === 'icmp6' ? 'ipv6-icmp' : r.proto}`);
  const noHosts = r.from.kind === 'any' && r.to.kind === 'any' && r.fromPort === undefined && r.toPort === undefined;
  if (noHosts) parts.push('all');
  else {
    parts.push(`from ${printHost(r.from)}`);
    if (r.fromPort !== undefined) parts.push(port(r.fromPort));
    parts.push(`to ${printHost(r.to)}`);
    if (r.toPort !== undefined) parts.push(port(r.toPort));
  }
  if (r.action === 'nat') {
    parts.push(`-> ${r.natTarget ? printHost(r.natTarget) : 'any'}`);
    if (r.natTarget?.kind === 'iface') parts.push('round-robin');
    return parts.join(' ');
  }
  if (r.icmp6Type !== undefined) {
    parts.push(`icmp6-type ${Object.entries(ICMP6_TYPES).find(([, n]) => n === r.icmp6Type)?.[0] ?? r.icmp6Type}`);
  }
  if (r.action === 'pass') {
    // pass rules keep state and, for TCP (or any protocol), check flags S/SA unless told otherwise.
    if (r.proto === undefined || r.proto === 'tcp') parts.push(`flags ${r.flags ?? 'S/SA'}`);
    parts.push(r.keepState ? 'keep state' : 'no state');
  }
  if (r.label !== undefined) parts.push(`label "${r.label}"`);
  if (r.tag !== undefined) parts.push(`tag ${r.tag}`);
  if (r.tagged !== undefined) parts.push(`tagged ${r.tagged}`);
  if (r.dnpipe !== undefined) parts.push(`dnpipe ${r.dnpipe}`);
  if (r.natTo) parts.push(`nat-to ${printHost(r.natTo.host)}`);
  if (r.rdrTo)
    parts.push(`rdr-to ${printHost(r.rdrTo.host)}${r.rdrTo.port !== undefined ? ` port ${r.rdrTo.port}` : ''}`);
  return parts.join(' ');
}

// ---------------------------------------------------------------------------------------------------------------
// Packet evaluation.

export interface Packet {
  direction: 'in' | 'out';
  iface: string;
  proto: 'tcp' | 'udp' | 'icmp' | 'icmp6';
  /** ICMPv6 type (icmp6 packets). */
  icmp6Type?: number;
  /** pf tag the packet already carries (from the verdict of an earlier hop: in on one interface, out on another). */
  tag?: string;
  src: string;
  sport?: number;
  dst: string;
  dport?: number;
}

export interface Verdict {
  action: 'pass' | 'block';
  /** The rule that decided (printed as pfctl -sr prints it), absent when no rule matched (default pass). */
  rule?: string;
  anchor?: string;
  /** Matched an existing state instead of the rules. */
  viaState?: string;
  /** Tag the packet carries after this hop (pass it on to the next hop's evaluation). */
  tag?: string;
  rdr?: { dst: string; dport?: number };
  /**
   * Dummynet pipe the packet is sent through. With a single `dnpipe N`, pf (pf_pdesc_to_dnflow) shapes only packets in the
   * direction of the rule that created the state, never the replies.
   */
  dnpipe?: number;
}

export function evaluate(host: FreeBsdHost, packet: Packet, options: { createState?: boolean } = {}): Verdict {
  const k = pfKernel(host);
  if (!k.enabled) return { action: 'pass' };
  const af = familyOf(packet.src);
  if (!af || familyOf(packet.dst) !== af) throw new Error(`bad packet addresses ${packet.src} -> ${packet.dst}`);
  const sport = packet.sport ?? 0;
  const dport = packet.dport ?? 0;

  // pf_find_state(): a state matches its own direction on the wire key (the tuple as first seen) and the opposite
  // direction on the stack key reversed (replies, after any rdr-to); a forwarded packet leaving by another interface
  // in the same direction is a new evaluation, as in pf.
  const state = k.states.find((s) => {
    if (s.proto !== packet.proto) return false;
    if (packet.direction === s.direction) {
      return s.src === packet.src && s.sport === sport && s.dst === packet.dst && s.dport === dport;
    }
    return (
      (s.rdr?.dst ?? s.dst) === packet.src &&
      (s.rdr?.dport ?? s.dport) === sport &&
      s.src === packet.dst &&
      s.sport === dport
    );
  });
  if (state) {
    const v: Verdict = { action: 'pass', viaState: state.id };
    if (state.dnpipe !== undefined && packet.direction === state.direction) v.dnpipe = state.dnpipe;
    const tag = state.tag ?? packet.tag;
    if (tag !== undefined) v.tag = tag;
    return v;
  }

  let last: { rule: PfRule; anchor: string } | undefined;
  const walk = (path: string): boolean => {
    const rs = k.rulesets.get(path);
    if (!rs) return false;
    for (const rule of rs.filter) {
      if (rule.action === 'anchor') {
        for (const child of calledAnchors(k, path, rule.anchor ?? '')) if (walk(child)) return true;
        continue;
      }
      if (!matches(host, k, path, rule, packet, af, sport, dport)) continue;
      last = { rule, anchor: path };
      if (rule.quick) return true;
    }
    return false;
  };
  walk('');
  if (!last) return { action: 'pass' };
  const { rule, anchor } = last;
  const verdict: Verdict = { action: rule.action === 'block' ? 'block' : 'pass', rule: printRule(rule, true), anchor };
  const tag = rule.tag ?? packet.tag;
  if (tag !== undefined) verdict.tag = tag;
  if (verdict.action === 'pass' && rule.dnpipe !== undefined) verdict.dnpipe = rule.dnpipe;
  if (verdict.action === 'pass' && rule.rdrTo) {
    const target = resolveHost(host, rule.rdrTo.host, af)[0];
    if (target) verdict.rdr = rule.rdrTo.port === undefined ? { dst: target } : { dst: target, dport: rule.rdrTo.port };
  }
  if (
    verdict.action === 'pass' &&
    rule.keepState &&
    options.createState !== false &&
    (packet.proto === 'tcp' || packet.proto === 'udp')
  ) {
    const s: PfState = {
      id: k.nextStateId.toString(16).padStart(16, '0'),
      proto: packet.proto,
      af,
      src: packet.src,
      sport,
      dst: packet.dst,
      dport,
      direction: packet.direction,
      anchor,
    };
    if (rule.label !== undefined) s.label = rule.label;
    if (rule.tag !== undefined) s.tag = rule.tag;
    if (rule.dnpipe !== undefined) s.dnpipe = rule.dnpipe;
    if (verdict.rdr) s.rdr = { dst: verdict.rdr.dst, dport: verdict.rdr.dport ?? dport };
    if (k.states.length < k.limits.states) {
      k.states.push(s);
      k.nextStateId++;
    }
  }
  return verdict;
}

/** `anchor "cube/*"` calls every anchor directly below cube, in alphabetical order (pf.conf(5) ANCHORS). */
function calledAnchors(k: PfKernel, from: string, name: string): string[] {
  const absolute = from && !name.startsWith('/') ? `${from}/${name}` : name.replace(/^\//, '');
  if (absolute === '*' || absolute.endsWith('/*')) {
    const base = absolute === '*' ? '' : absolute.slice(0, -2);
    return [...k.rulesets.keys()]
      .filter(
        (p) =>
          p !== base &&
          p.startsWith(base ? `${base}/` : '') &&
          !p.slice(base ? base.length + 1 : 0).includes('/') &&
          p !== '',
      )
      .sort();
  }
  return [absolute];
}

function lookupTable(k: PfKernel, anchor: string, name: string): PfTable | undefined {
  return k.rulesets.get(anchor)?.tables.get(name) ?? k.rulesets.get('')?.tables.get(name);
}

function resolveHost(host: FreeBsdHost, h: PfHost, af: Family): string[] {
  if (h.kind === 'addr') return h.cidr.family === af ? [formatCidr(h.cidr).split('/')[0]!] : [];
  if (h.kind === 'iface') return interfaceAddresses(netState(host), h.name, af);
  return [];
}

function hostMatches(host: FreeBsdHost, k: PfKernel, anchor: string, h: PfHost, address: string): boolean {
  switch (h.kind) {
    case 'any':
      return true;
    case 'addr':
      return cidrContains(h.cidr, address);
    case 'table': {
      const t = lookupTable(k, anchor, h.name);
      return !!t && [...t.entries.values()].some((c) => cidrContains(c, address));
    }
    case 'iface':
      return interfaceAddresses(netState(host), h.name).includes(address);
    case 'self':
      return [...netState(host).interfaces.values()].some(
        (i) => i.vnet === null && i.addresses.some((a) => a.address === address),
      );
  }
}

function ifaceMatches(host: FreeBsdHost, ruleIface: string, packetIface: string): boolean {
  if (ruleIface === packetIface) return true;
  // "on GROUP" matches every member of the interface group (ifconfig(8) group).
  return netState(host).interfaces.get(packetIface)?.groups.has(ruleIface) ?? false;
}

function matches(
  host: FreeBsdHost,
  k: PfKernel,
  anchor: string,
  r: PfRule,
  p: Packet,
  af: Family,
  sport: number,
  dport: number,
): boolean {
  if (r.direction && r.direction !== p.direction) return false;
  if (r.iface && ifaceMatches(host, r.iface, p.iface) === !!r.ifaceNot) return false;
  if (r.af && r.af !== af) return false;
  if (r.proto && r.proto !== p.proto) return false;
  if (!hostMatches(host, k, anchor, r.from, p.src)) return false;
  if (!hostMatches(host, k, anchor, r.to, p.dst)) return false;
  if (r.fromPort !== undefined && r.fromPort !== sport) return false;
  if (r.toPort !== undefined && r.toPort !== dport) return false;
  if (r.icmp6Type !== undefined && r.icmp6Type !== p.icmp6Type) return false;
  if (r.tagged !== undefined && r.tagged !== p.tag) return false;
  return true;
}

export function parseTableAddress(text: string): Cidr | undefined {
  return parseCidr(text);
}
