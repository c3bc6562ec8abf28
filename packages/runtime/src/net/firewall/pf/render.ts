/**
 * pf.conf(5) text for cubenet on FreeBSD. Pure functions of values that passed validate.ts (ids, interface names,
 * addresses, ports hold nothing but what their grammar allows), so interpolation into rule text is safe.
 *
 * Layout:
 *   main ruleset: `nat on EGRESS from SUBNET to any -> (EGRESS)` per family (only with an egress interface), then
 *     `anchor "cube/*" all`, which evaluates every anchor directly below `cube` in alphabetical order, then a block
 *     of everything else in or out on the endpoint group (endpoints with no anchor are cut off).
 *   cube/sandbox-<id>: the sandbox's tables and rules. Every rule is scoped to the sandbox's own traffic
 *     (`in on IF from SELF` for what it sends, `out on IF` for what reaches it), so the anchors of different sandboxes
 *     never decide for each other and the order in which pf walks them does not matter:
 *       ICMPv6 neighbour discovery (NS/NA/RS out of the sandbox; NS/NA/RA into it) → pass
 *       deny table → block; allow table → pass; tcp/udp 53 to the dns table → pass
 *       with internet access: private ranges and the host itself (`self`) → block, anything else → pass
 *       anything else entering from IF (other sources too: anti-spoofing) → block
 *       forwards: `pass in on ! GROUP proto P to self port H rdr-to SANDBOX port S` (never from another sandbox)
 *       to the sandbox: from the host → pass; tagged by a sandbox's pass rule or a forward → pass; anything else
 *       without a state → block (a sandbox is reached only by what another sandbox's policy or a forward lets in)
 *   A rate-limited sandbox's egress passes carry `dnpipe N` (its dummynet pipe, see rate-limit/dummynet.ts).
 *   Rules carry `label "sandbox-<id>"` so `pfctl -k label -k sandbox-<id>` kills exactly the sandbox's states.
 */
import {
  PRIVATE_RANGES_V4,
  PRIVATE_RANGES_V6,
  type PortForward,
  type SandboxAddresses,
  type SandboxId,
  type SandboxPolicy,
} from '../../types.ts';
import {
  parseAddress,
  parseAddressList,
  parseCidr,
  parseForward,
  parseInterfaceName,
  parseSandboxId,
} from '../../validate.ts';

export const DEFAULT_ANCHOR_ROOT = 'cube';

/** The per-sandbox tables, in the order they are rendered. */
export const TABLES = {
  allowOut: 'sandbox_allow',
  denyOut: 'sandbox_deny',
  dnsAllow: 'sandbox_dns',
  private: 'sandbox_private',
} as const;

export const SANDBOX_TABLES: string[] = [TABLES.allowOut, TABLES.denyOut, TABLES.dnsAllow, TABLES.private];

export function anchorPath(root: string, id: SandboxId): string {
  return `${root}/sandbox-${parseSandboxId(id)}`;
}

export function sandboxLabel(id: SandboxId): string {
  return `sandbox-${id}`;
}

/** The sandbox id named by an anchor path under `root`, or undefined for anything else. */
export function idFromAnchor(root: string, path: string): SandboxId | undefined {
  const m = new RegExp(`^${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/sandbox-([0-9a-f]{12})$`).exec(path);
  return m?.[1] as SandboxId | undefined;
}

export interface RootSetup {
  anchorRoot: string;
  /** Interface group of the sandbox endpoints: what no sandbox anchor passed is dropped. */
  endpointGroup: string;
  ipv4Subnet: string;
  ipv6Subnet: string;
  /** Interface egress traffic leaves through; NAT is rendered only when it is set. */
  egressInterface?: string;
}

/** The main ruleset's hook lines. */
export function renderRootRuleset(setup: RootSetup): string {
  if (!/^[a-z][a-z0-9_-]{0,30}$/.test(setup.anchorRoot))
    throw new Error(`invalid pf anchor root ${JSON.stringify(setup.anchorRoot)}`);
  const s: RootSetup = {
    anchorRoot: setup.anchorRoot,
    endpointGroup: parseInterfaceName(setup.endpointGroup, 'endpoint group'),
    ipv4Subnet: parseCidr(setup.ipv4Subnet, 'ipv4 subnet').text,
    ipv6Subnet: parseCidr(setup.ipv6Subnet, 'ipv6 subnet').text,
  };
  if (setup.egressInterface !== undefined)
    s.egressInterface = parseInterfaceName(setup.egressInterface, 'egress interface');
  let out = '';
  if (s.egressInterface) {
    out += `nat on ${s.egressInterface} inet from ${s.ipv4Subnet} to any -> (${s.egressInterface})\n`;
    out += `nat on ${s.egressInterface} inet6 from ${s.ipv6Subnet} to any -> (${s.egressInterface})\n`;
  }
  out += `anchor "${s.anchorRoot}/*" all\n`;
  // An endpoint without an anchor (idle, recycled, or left by a crash) can neither send nor be reached.
  out += `block drop in quick on ${s.endpointGroup} all\n`;
  out += `block drop out quick on ${s.endpointGroup} all\n`;
  return out;
}

export interface AnchorSpec {
  id: SandboxId;
  addresses: SandboxAddresses;
  policy: SandboxPolicy;
  forwards: PortForward[];
  hostInterface?: string;
  /** Interface group every sandbox endpoint belongs to (forwards are never taken from it). */
  endpointGroup: string;
  /** pf tag put on what a sandbox rule lets in (a sandbox's allowed egress, a forward): other sandboxes accept it. */
  tag: string;
  /** The bridge subnets (a sandbox's own subnet is private to it too). */
  ipv4Subnet: string;
  ipv6Subnet: string;
  /** Dummynet pipe the sandbox's egress goes through (its rate limit): `dnpipe N` on its egress passes. */
  dnpipe?: number;
}

function table(name: string, entries: readonly string[], constant = false): string {
  return `table <${name}> ${constant ? 'const ' : ''}persist { ${entries.join(', ')} }\n`.replace('{  }', '{ }');
}

/**
 * Everything that is interpolated into rule text goes through validate.ts once more here: this is the last stop
 * before pfctl, and a value that would change the meaning of the rules must never get past it, whoever the caller.
 */
function checked(s: AnchorSpec): AnchorSpec {
  const c: AnchorSpec = {
    id: parseSandboxId(s.id),
    addresses: { ipv4: parseAddress(s.addresses.ipv4, 'ipv4'), ipv6: parseAddress(s.addresses.ipv6, 'ipv6') },
    policy: {
      allowOut: parseAddressList(s.policy.allowOut, 'allowOut'),
      denyOut: parseAddressList(s.policy.denyOut, 'denyOut'),
      dnsAllow: parseAddressList(s.policy.dnsAllow, 'dnsAllow'),
      allowInternetAccess: s.policy.allowInternetAccess === true,
    },
    forwards: s.forwards.map((f, i) => parseForward(f, `forwards[${i}]`)),
    endpointGroup: parseInterfaceName(s.endpointGroup, 'endpoint group'),
    tag: parseInterfaceName(s.tag, 'pf tag'),
    ipv4Subnet: parseCidr(s.ipv4Subnet, 'ipv4 subnet').text,
    ipv6Subnet: parseCidr(s.ipv6Subnet, 'ipv6 subnet').text,
  };
  if (s.hostInterface !== undefined) c.hostInterface = parseInterfaceName(s.hostInterface, 'host interface');
  if (s.dnpipe !== undefined) {
    if (!Number.isInteger(s.dnpipe) || s.dnpipe < 1 || s.dnpipe > 65535)
      throw new Error(`invalid dummynet pipe ${JSON.stringify(s.dnpipe)}`);
    c.dnpipe = s.dnpipe;
  }
  return c;
}

/** The whole anchor: loading it with `pfctl -a ANCHOR -f -` replaces the sandbox's rules and tables atomically. */
export function renderSandboxAnchor(spec: AnchorSpec): string {
  const s = checked(spec);
  const label = `label "${sandboxLabel(s.id)}"`;
  // Allowed traffic is tagged on the way in; a sandbox's out-rules accept tagged packets (pf states are bound to a
  // direction, so a connection A opens to B is evaluated again, outbound, on B's interface).
  const pass = `${label} tag ${s.tag}`;
  // With one pipe number pf shapes only the rule's direction: what the sandbox sends, not the replies it gets.
  const egress = s.dnpipe === undefined ? pass : `dnpipe ${s.dnpipe} ${pass}`;
  const self = `{ ${s.addresses.ipv4}, ${s.addresses.ipv6} }`;
  const on = s.hostInterface ? ` on ${s.hostInterface}` : '';
  const from = `from ${self}`;
  let out = '';
  out += table(TABLES.allowOut, s.policy.allowOut);
  out += table(TABLES.denyOut, s.policy.denyOut);
  out += table(TABLES.dnsAllow, s.policy.dnsAllow);
  out += table(TABLES.private, [...PRIVATE_RANGES_V4, ...PRIVATE_RANGES_V6, s.ipv4Subnet, s.ipv6Subnet], true);
  // Neighbour discovery both ways (NS/NA/RS from the sandbox, NS/NA/RA to it): IPv6 does not work without it, and
  // only these ICMPv6 types pass, whatever the policy.
  out += `pass in quick${on} inet6 proto icmp6 from { ::, fe80::/10, ${s.addresses.ipv6} } to any icmp6-type { neighbrsol, neighbradv, routersol } ${label}\n`;
  out += `block drop in quick${on} ${from} to <${TABLES.denyOut}> ${label}\n`;
  out += `pass in quick${on} ${from} to <${TABLES.allowOut}> ${egress}\n`;
  out += `pass in quick${on} proto { tcp, udp } ${from} to <${TABLES.dnsAllow}> port 53 ${egress}\n`;
  if (s.policy.allowInternetAccess) {
    out += `block drop in quick${on} ${from} to { <${TABLES.private}>, self } ${label}\n`;
    out += `pass in quick${on} ${from} to any ${egress}\n`;
  }
  out += s.hostInterface
    ? `block drop in quick on ${s.hostInterface} all ${label}\n`
    : `block drop in quick ${from} to any ${label}\n`;
  for (const f of s.forwards) out += renderForwardRules(s, f, pass);
  if (s.hostInterface) {
    out += `pass out quick on ${s.hostInterface} inet6 proto icmp6 from any to any icmp6-type { neighbrsol, neighbradv, routeradv } ${label}\n`;
    out += `pass out quick on ${s.hostInterface} from self to ${self} ${label}\n`;
    out += `pass out quick on ${s.hostInterface} from any to ${self} ${label} tagged ${s.tag}\n`;
    out += `block drop out quick on ${s.hostInterface} all ${label}\n`;
  }
  return out;
}

function renderForwardRules(s: AnchorSpec, f: PortForward, pass: string): string {
  // Taken on any interface but the sandboxes' own, so no sandbox reaches another through the host's ports.
  const on = `on ! ${s.endpointGroup}`;
  return (
    `pass in quick ${on} inet proto ${f.protocol} from any to self port ${f.hostPort} rdr-to ${s.addresses.ipv4} port ${f.sandboxPort} ${pass}\n` +
    `pass in quick ${on} inet6 proto ${f.protocol} from any to self port ${f.hostPort} rdr-to ${s.addresses.ipv6} port ${f.sandboxPort} ${pass}\n`
  );
}

/** Address list file for `pfctl -T add|replace -f -`: one validated entry a line. */
export function renderAddressList(entries: readonly string[]): string {
  return parseAddressList([...entries], 'address list')
    .map((e) => `${e}\n`)
    .join('');
}
