/**
 * Validation of everything that may reach a firewall rule or a command line. Every function either returns a
 * normalised value or throws NetInputError naming the field and what is wrong; nothing is escaped, hostile text is
 * rejected. Backends rely on it: they interpolate validated values into nft/pf rule text as they are.
 */
import type {
  AddressList,
  InterfaceName,
  PortForward,
  Protocol,
  SandboxAddresses,
  SandboxId,
  SandboxPolicy,
} from './types.ts';

export class NetInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`invalid ${field}: ${message}`);
    this.name = 'NetInputError';
  }
}

/** Longest address list accepted in one policy list (the 1 000-address batch fits many times over). */
export const MAX_LIST_ENTRIES = 10_000;
export const MAX_FORWARDS = 256;

function show(value: unknown): string {
  const text = typeof value === 'string' ? value : String(JSON.stringify(value));
  const clipped = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return JSON.stringify(clipped);
}

function requireString(field: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string') throw new NetInputError(field, `expected a string, got ${typeof value}`);
  if (value.length === 0) throw new NetInputError(field, 'empty');
  if (value.length > maxLength) throw new NetInputError(field, `longer than ${maxLength} characters: ${show(value)}`);
  return value;
}

export function parseSandboxId(value: unknown, field = 'sandbox id'): SandboxId {
  const text = requireString(field, value, 12);
  if (!/^[0-9a-f]{12}$/.test(text))
    throw new NetInputError(field, `expected 12 lower-case hex digits, got ${show(text)}`);
  return text as SandboxId;
}

export function parseInterfaceName(value: unknown, field = 'interface name'): InterfaceName {
  const text = requireString(field, value, 15);
  if (!/^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/.test(text)) {
    throw new NetInputError(field, `expected up to 15 of [a-zA-Z0-9_.-] starting with a letter, got ${show(text)}`);
  }
  return text as InterfaceName;
}

export function parsePrefix(value: unknown, field = 'prefix'): string {
  const text = requireString(field, value, 4);
  if (!/^[a-z][a-z0-9]{1,3}$/.test(text))
    throw new NetInputError(field, `expected 2-4 of [a-z0-9] starting with a letter, got ${show(text)}`);
  return text;
}

export function parsePort(value: unknown, field = 'port'): number {
  const n = typeof value === 'string' && /^[0-9]{1,5}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new NetInputError(field, `expected an integer 1-65535, got ${show(value)}`);
  }
  return n;
}

export function parseProtocol(value: unknown, field = 'protocol'): Protocol {
  if (value === 'tcp' || value === 'udp') return value;
  throw new NetInputError(field, `expected "tcp" or "udp", got ${show(value)}`);
}

// ---- addresses ---------------------------------------------------------------------------------------------------

/**
 * Parses dotted-quad IPv4 strictly (no leading zeros, no shorthand) into a 32-bit number. A scan of character codes:
 * policy lists of thousands of entries go through here (and through ipv6ToGroups) on every change.
 */
export function ipv4ToNumber(text: string): number | undefined {
  const len = text.length;
  if (len < 7 || len > 15) return undefined;
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return undefined;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return undefined; // a leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return n * 256 + part;
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses IPv6 text (with :: and an optional trailing dotted quad; no zone ids) into 8 16-bit groups. */
export function ipv6ToGroups(text: string): number[] | undefined {
  const len = text.length;
  if (len < 2 || len > 45) return undefined;
  const groups: number[] = [];
  let gap = -1; // where "::" stands, as an index into groups
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return undefined;
    gap = 0;
    i = 2;
  }
  while (i < len) {
    let value = 0;
    let j = i;
    for (; j < len && j - i < 5; j++) {
      const h = hexValue(text.charCodeAt(j));
      if (h < 0) break;
      value = value * 16 + h;
    }
    if (j < len && text.charCodeAt(j) === 46) {
      // a trailing dotted quad ("::ffff:192.0.2.1") stands for the last two groups
      const v4 = ipv4ToNumber(text.slice(i));
      if (v4 === undefined) return undefined;
      groups.push(Math.floor(v4 / 65536), v4 % 65536);
      break;
    }
    if (j === i || j - i > 4) return undefined;
    groups.push(value);
    if (j === len) break;
    if (text.charCodeAt(j) !== 58) return undefined;
    j++;
    if (j < len && text.charCodeAt(j) === 58) {
      if (gap >= 0) return undefined;
      gap = groups.length;
      j++;
    } else if (j === len) return undefined; // a trailing single colon
    i = j;
  }
  if (gap < 0) return groups.length === 8 ? groups : undefined;
  if (groups.length > 7) return undefined;
  const out = [0, 0, 0, 0, 0, 0, 0, 0];
  const tail = groups.length - gap;
  for (let k = 0; k < gap; k++) out[k] = groups[k]!;
  for (let k = 0; k < tail; k++) out[8 - tail + k] = groups[gap + k]!;
  return out;
}

/** RFC 5952 canonical text. */
export function groupsToIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) out += ':';
    out += groups[i]!.toString(16);
  }
  return out;
}

export interface ParsedCidr {
  family: 'ipv4' | 'ipv6';
  /** Canonical "addr" for a single host, "net/len" otherwise. */
  text: string;
  address: string;
  length: number;
}

/** An address or CIDR, v4 or v6, normalised. Host bits set under the mask are an error (say what was meant). */
export function parseCidr(value: unknown, field = 'address'): ParsedCidr {
  const text = requireString(field, value, 49);
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  const v4 = ipv4ToNumber(addrText);
  if (v4 !== undefined) {
    const length = lenText === undefined ? 32 : parseLength(field, lenText, 32, text);
    const hostBits = 32 - length;
    if (hostBits > 0 && v4 % 2 ** hostBits !== 0) {
      const net = numberToIpv4(v4 - (v4 % 2 ** hostBits));
      throw new NetInputError(field, `${show(text)} has host bits set (did you mean ${net}/${length}?)`);
    }
    // ipv4ToNumber accepts only the canonical spelling: the text is the normalised address.
    const address = addrText;
    return { family: 'ipv4', address, length, text: length === 32 ? address : `${address}/${length}` };
  }
  const v6 = ipv6ToGroups(addrText);
  if (v6 !== undefined) {
    const length = lenText === undefined ? 128 : parseLength(field, lenText, 128, text);
    for (let bit = length; bit < 128; bit++) {
      if ((v6[Math.floor(bit / 16)]! >> (15 - (bit % 16))) & 1) {
        const masked = v6.map((g, i) => {
          const keep = Math.max(0, Math.min(16, length - i * 16));
          return keep === 0 ? 0 : g & ((0xffff << (16 - keep)) & 0xffff);
        });
        throw new NetInputError(
          field,
          `${show(text)} has host bits set (did you mean ${groupsToIpv6(masked)}/${length}?)`,
        );
      }
    }
    const address = groupsToIpv6(v6);
    return { family: 'ipv6', address, length, text: length === 128 ? address : `${address}/${length}` };
  }
  throw new NetInputError(field, `not an IPv4/IPv6 address or CIDR: ${show(text)}`);
}

function parseLength(field: string, lenText: string, max: number, whole: string): number {
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > max) {
    throw new NetInputError(field, `prefix length must be 0-${max} in ${show(whole)}`);
  }
  return Number(lenText);
}

/** A single host address (no prefix length). */
export function parseAddress(value: unknown, family?: 'ipv4' | 'ipv6', field = 'address'): string {
  const parsed = parseCidr(value, field);
  if ((parsed.family === 'ipv4' && parsed.length !== 32) || (parsed.family === 'ipv6' && parsed.length !== 128)) {
    throw new NetInputError(field, `expected a single address, got the network ${show(value)}`);
  }
  if (family && parsed.family !== family)
    throw new NetInputError(field, `expected an ${family} address, got ${show(value)}`);
  return parsed.address;
}

export function parseAddressList(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw new NetInputError(field, 'expected a list of addresses/CIDRs');
  if (value.length > MAX_LIST_ENTRIES) {
    throw new NetInputError(field, `${value.length} entries is more than the limit of ${MAX_LIST_ENTRIES}`);
  }
  const out = new Set<string>();
  for (let i = 0; i < value.length; i++) {
    let parsed: ParsedCidr;
    try {
      parsed = parseCidr(value[i], field);
    } catch {
      parsed = parseCidr(value[i], `${field}[${i}]`); // throws again, naming the entry (not built for every entry)
    }
    out.add(parsed.text);
  }
  return [...out];
}

export function parseAddressListName(value: unknown): AddressList {
  if (value === 'allowOut' || value === 'denyOut' || value === 'dnsAllow') return value;
  throw new NetInputError('address list', `expected allowOut, denyOut or dnsAllow, got ${show(value)}`);
}

export function parseSandboxAddresses(value: unknown, field = 'addresses'): SandboxAddresses {
  if (typeof value !== 'object' || value === null) throw new NetInputError(field, 'expected { ipv4, ipv6 }');
  const v = value as Record<string, unknown>;
  return { ipv4: parseAddress(v.ipv4, 'ipv4', `${field}.ipv4`), ipv6: parseAddress(v.ipv6, 'ipv6', `${field}.ipv6`) };
}

const POLICY_KEYS = new Set(['allowOut', 'denyOut', 'dnsAllow', 'allowInternetAccess']);

/** A full policy; missing lists default to empty, unknown keys are an error (a typo must not silently open access). */
export function parsePolicy(value: unknown, field = 'policy'): SandboxPolicy {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new NetInputError(field, 'expected an object');
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!POLICY_KEYS.has(key))
      throw new NetInputError(field, `unknown key ${show(key)} (expected ${[...POLICY_KEYS].join(', ')})`);
  }
  const flag = v.allowInternetAccess ?? false;
  if (typeof flag !== 'boolean') throw new NetInputError(`${field}.allowInternetAccess`, 'expected true or false');
  return {
    allowOut: parseAddressList(v.allowOut ?? [], `${field}.allowOut`),
    denyOut: parseAddressList(v.denyOut ?? [], `${field}.denyOut`),
    dnsAllow: parseAddressList(v.dnsAllow ?? [], `${field}.dnsAllow`),
    allowInternetAccess: flag,
  };
}

export function parseForward(value: unknown, field = 'forward'): PortForward {
  if (typeof value !== 'object' || value === null)
    throw new NetInputError(field, 'expected { protocol, hostPort, sandboxPort }');
  const v = value as Record<string, unknown>;
  return {
    protocol: parseProtocol(v.protocol ?? 'tcp', `${field}.protocol`),
    hostPort: parsePort(v.hostPort, `${field}.hostPort`),
    sandboxPort: parsePort(v.sandboxPort, `${field}.sandboxPort`),
  };
}

/** "tcp:8080:80" or "8080:80" (tcp) as the CLI spells a forward. */
export function parseForwardSpec(text: unknown): PortForward {
  const s = requireString('forward', text, 20);
  const m = /^(?:(tcp|udp):)?([0-9]{1,5}):([0-9]{1,5})$/.exec(s);
  if (!m) throw new NetInputError('forward', `expected [tcp|udp:]HOSTPORT:SANDBOXPORT, got ${show(s)}`);
  return parseForward({ protocol: m[1] ?? 'tcp', hostPort: m[2], sandboxPort: m[3] });
}

/** Splits a list into its IPv4 and IPv6 entries (entries are already normalised). */
export function splitFamilies(list: readonly string[]): { ipv4: string[]; ipv6: string[] } {
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const e of list) (e.includes(':') ? ipv6 : ipv4).push(e);
  return { ipv4, ipv6 };
}

/** Whether an address (normalised) lies in a CIDR (normalised). */
export function inSubnet(address: string, cidr: string): boolean {
  const net = parseCidr(cidr);
  const v4 = ipv4ToNumber(address);
  if (v4 !== undefined) {
    if (net.family !== 'ipv4') return false;
    const size = 2 ** (32 - net.length);
    return Math.floor(v4 / size) === Math.floor(ipv4ToNumber(net.address)! / size);
  }
  const g = ipv6ToGroups(address);
  if (!g || net.family !== 'ipv6') return false;
  const n = ipv6ToGroups(net.address)!;
  for (let bit = 0; bit < net.length; bit++) {
    const i = Math.floor(bit / 16);
    const m = 1 << (15 - (bit % 16));
    if ((g[i]! & m) !== (n[i]! & m)) return false;
  }
  return true;
}
