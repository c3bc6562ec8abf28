/**
 * Address management for one bridge subnet pair. A sandbox gets one host number N from the allocatable range and
 * with it both addresses: the N-th IPv4 address of the subnet and the IPv6 address with interface id N. Allocation
 * is synchronous (no await between looking and taking), so concurrent checkouts in one process cannot get the same
 * number; the controller lock keeps other processes out. Allocation is next-fit, so a number just released (whose
 * connection states may still be being killed) is the last to be handed out again.
 */
import type { SandboxAddresses } from './types.ts';
import { NetInputError, groupsToIpv6, ipv4ToNumber, ipv6ToGroups, numberToIpv4, parseCidr } from './validate.ts';

export class AddressExhaustedError extends Error {
  constructor(
    readonly subnet: string,
    readonly size: number,
  ) {
    super(
      `no free sandbox address in ${subnet}: all ${size} allocatable addresses are in use (release a sandbox or widen the allocatable range)`,
    );
    this.name = 'AddressExhaustedError';
  }
}

export interface Subnets {
  ipv4: { network: number; length: number; text: string };
  ipv6: { groups: number[]; length: number; text: string };
}

export function parseSubnets(ipv4Subnet: string, ipv6Subnet: string): Subnets {
  const v4 = parseCidr(ipv4Subnet, 'ipv4 subnet');
  const v6 = parseCidr(ipv6Subnet, 'ipv6 subnet');
  if (v4.family !== 'ipv4' || v4.length > 30 || v4.length < 16)
    throw new NetInputError('ipv4 subnet', `expected an IPv4 network /16../30, got ${JSON.stringify(ipv4Subnet)}`);
  if (v6.family !== 'ipv6' || v6.length !== 64)
    throw new NetInputError('ipv6 subnet', `expected an IPv6 /64, got ${JSON.stringify(ipv6Subnet)}`);
  return {
    ipv4: { network: ipv4ToNumber(v4.address)!, length: v4.length, text: v4.text },
    ipv6: { groups: ipv6ToGroups(v6.address)!, length: 64, text: v6.text },
  };
}

export function addressesFor(subnets: Subnets, host: number): SandboxAddresses {
  const g = [...subnets.ipv6.groups];
  g[6] = Math.floor(host / 65536) % 65536;
  g[7] = host % 65536;
  return { ipv4: numberToIpv4(subnets.ipv4.network + host), ipv6: groupsToIpv6(g) };
}

export class Ipam {
  readonly gateway: SandboxAddresses;
  readonly first: number;
  readonly last: number;
  private readonly used = new Set<number>();
  private cursor: number;

  constructor(
    readonly subnets: Subnets,
    allocatable?: { first: number; last: number },
  ) {
    const lastUsable = 2 ** (32 - subnets.ipv4.length) - 2;
    this.first = allocatable?.first ?? 2;
    this.last = allocatable?.last ?? lastUsable;
    if (
      !Number.isInteger(this.first) ||
      !Number.isInteger(this.last) ||
      this.first < 2 ||
      this.last > lastUsable ||
      this.first > this.last
    ) {
      throw new NetInputError(
        'allocatable range',
        `expected 2 <= first <= last <= ${lastUsable}, got ${this.first}..${this.last}`,
      );
    }
    this.gateway = addressesFor(subnets, 1);
    this.cursor = this.first;
  }

  get size(): number {
    return this.last - this.first + 1;
  }

  get inUse(): number {
    return this.used.size;
  }

  /** Takes the next free host number (next-fit). Throws AddressExhaustedError when none is free. */
  allocate(): number {
    for (let i = 0; i < this.size; i++) {
      const n = this.first + ((this.cursor - this.first + i) % this.size);
      if (!this.used.has(n)) {
        this.used.add(n);
        this.cursor = n + 1 > this.last ? this.first : n + 1;
        return n;
      }
    }
    throw new AddressExhaustedError(this.subnets.ipv4.text, this.size);
  }

  /** Marks a number as in use (rebuilding from the state file). */
  claim(host: number): void {
    if (host < this.first || host > this.last)
      throw new NetInputError('host number', `${host} is outside ${this.first}..${this.last}`);
    if (this.used.has(host)) throw new Error(`host number ${host} is claimed twice`);
    this.used.add(host);
  }

  release(host: number): void {
    this.used.delete(host);
  }

  addresses(host: number): SandboxAddresses {
    return addressesFor(this.subnets, host);
  }

  /** The host number of an address in this subnet, or undefined. */
  hostOf(address: string): number | undefined {
    const v4 = ipv4ToNumber(address);
    if (v4 !== undefined) {
      const n = v4 - this.subnets.ipv4.network;
      return n >= 0 && n < 2 ** (32 - this.subnets.ipv4.length) ? n : undefined;
    }
    const g = ipv6ToGroups(address);
    if (!g || g.slice(0, 4).some((x, i) => x !== this.subnets.ipv6.groups[i])) return undefined;
    if (g[4] !== 0 || g[5] !== 0) return undefined;
    return g[6]! * 65536 + g[7]!;
  }
}
