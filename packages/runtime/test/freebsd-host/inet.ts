import { isIPv4, isIPv6 } from 'node:net';

/**
 * Address arithmetic for the host model (what the kernel and pfctl's host() do): parse an address or CIDR the way
 * inet_pton(3) would, and match addresses against networks. The model keeps its own copy on purpose: it stands in
 * for the FreeBSD kernel, so it must not share code with the runtime it is checking.
 */
export type Family = 'inet' | 'inet6';

export interface Cidr {
  family: Family;
  /** Network address as a big integer (32 or 128 bits). */
  value: bigint;
  prefix: number;
}

export function familyOf(address: string): Family | undefined {
  if (isIPv4(address)) return 'inet';
  if (isIPv6(address)) return 'inet6';
  return undefined;
}

function bits(family: Family): number {
  return family === 'inet' ? 32 : 128;
}

export function addressToBigInt(address: string): bigint {
  if (isIPv4(address)) {
    return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  }
  if (!isIPv6(address)) throw new Error(`not an address: ${address}`);
  let text = address;
  // An embedded dotted quad (::ffff:1.2.3.4) becomes two hextets.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const v = addressToBigInt(dotted[1]);
    text = text.slice(0, -dotted[1].length) + `${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = tail === undefined ? [] : tail ? tail.split(':') : [];
  const missing = 8 - headParts.length - tailParts.length;
  const parts = tail === undefined ? headParts : [...headParts, ...Array<string>(missing).fill('0'), ...tailParts];
  return parts.reduce((acc, part) => (acc << 16n) | BigInt(parseInt(part, 16)), 0n);
}

export function bigIntToAddress(value: bigint, family: Family): string {
  if (family === 'inet') {
    return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
  }
  const hextets: number[] = [];
  for (let i = 7; i >= 0; i--) hextets.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (length > 1) of zero hextets.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (hextets[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && hextets[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = hextets.map((h) => h.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * Parses "ADDR" or "ADDR/PREFIX". Returns undefined for anything inet_pton would refuse. A network with host bits
 * set is refused as well: the kernel's table code rejects it (pfr_validate_addr, EINVAL).
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = familyOf(address);
  if (!family) return undefined;
  const max = bits(family);
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefix = Number(p);
    if (prefix > max) return undefined;
  }
  const value = addressToBigInt(address);
  const hostMask = (1n << BigInt(max - prefix)) - 1n;
  if ((value & hostMask) !== 0n) return undefined;
  return { family, value, prefix };
}

export function cidrContains(net: Cidr, address: string): boolean {
  const family = familyOf(address);
  if (family !== net.family) return false;
  const shift = BigInt(bits(family) - net.prefix);
  return addressToBigInt(address) >> shift === net.value >> shift;
}

/** How pfctl prints a table entry or rule address: hosts without "/32" or "/128". */
export function formatCidr(c: Cidr): string {
  const a = bigIntToAddress(c.value, c.family);
  return c.prefix === bits(c.family) ? a : `${a}/${c.prefix}`;
}

export function cidrKey(c: Cidr): string {
  return `${c.family}|${c.value.toString(16)}|${c.prefix}`;
}

export function compareCidr(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family === 'inet' ? -1 : 1;
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  return a.prefix - b.prefix;
}
