import type { FreeBsdHost } from './host.ts';
import { type Cidr, type Family, addressToBigInt, familyOf } from './inet.ts';

/** One network interface as the kernel holds it. `vnet` is the jail whose network stack owns it (null: the host). */
export interface NetIf {
  name: string;
  kind: 'loopback' | 'ether' | 'tap' | 'epair' | 'bridge';
  up: boolean;
  addresses: InterfaceAddress[];
  groups: Set<string>;
  description?: string;
  /** Bridge members (bridge only). */
  members: string[];
  /** The other end of an epair. */
  peer?: string;
  vnet: string | null;
  mac: string;
  /** Cloner unit (tap3 → 3): stays allocated when the interface is renamed, freed when it is destroyed. */
  unit?: number;
}

export interface InterfaceAddress {
  family: Family;
  address: string;
  prefix: number;
}

export interface NetState {
  interfaces: Map<string, NetIf>;
  nextMac: number;
  /** Units in use per cloner (tap, epair, bridge), as ifc_alloc_unit() keeps them. */
  units: Map<string, Set<number>>;
}

export function netState(host: FreeBsdHost): NetState {
  return host.part('net', () => {
    const state: NetState = { interfaces: new Map(), nextMac: 1, units: new Map() };
    addInterface(state, 'lo0', 'loopback', null, [
      { family: 'inet', address: '127.0.0.1', prefix: 8 },
      { family: 'inet6', address: '::1', prefix: 128 },
    ]);
    // The host's uplink, on a documentation network (RFC 5737 / RFC 3849): never a real destination.
    addInterface(state, 'em0', 'ether', null, [
      { family: 'inet', address: '192.0.2.10', prefix: 24 },
      { family: 'inet6', address: '2001:db8::10', prefix: 64 },
    ]);
    return state;
  });
}

export function addInterface(
  state: NetState,
  name: string,
  kind: NetIf['kind'],
  vnet: string | null,
  addresses: InterfaceAddress[] = [],
): NetIf {
  const n = state.nextMac++;
  const iface: NetIf = {
    name,
    kind,
    up: kind === 'loopback' || kind === 'ether',
    addresses,
    // Cloned interfaces join their cloner's group (tap, epair, bridge), as ifconfig shows under "groups:".
    groups: new Set(
      kind === 'tap' || kind === 'epair' || kind === 'bridge' ? [kind] : kind === 'loopback' ? ['lo'] : [],
    ),
    members: [],
    vnet,
    mac: `58:9c:fc:${((n >> 16) & 0xff).toString(16).padStart(2, '0')}:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`,
  };
  state.interfaces.set(name, iface);
  return iface;
}

/** Interfaces visible from a network stack (the host's, or a VNET jail's). */
export function visibleInterfaces(state: NetState, vnet: string | null): NetIf[] {
  return [...state.interfaces.values()].filter((i) => i.vnet === vnet);
}

/** Whether `address` is one of the host's own addresses (pf's "self", and the targets of "(ifname)"). */
export function interfaceAddresses(state: NetState, name: string, family?: Family): string[] {
  const iface = state.interfaces.get(name);
  if (!iface) return [];
  return iface.addresses.filter((a) => !family || a.family === family).map((a) => a.address);
}

export function addressCidr(a: InterfaceAddress): Cidr {
  const max = a.family === 'inet' ? 32 : 128;
  const value = addressToBigInt(a.address);
  const shift = BigInt(max - a.prefix);
  return { family: a.family, value: (value >> shift) << shift, prefix: a.prefix };
}

export function parseInterfaceAddress(text: string, family: Family): InterfaceAddress | undefined {
  const [address = '', prefixText] = text.split('/');
  if (familyOf(address) !== family) return undefined;
  const max = family === 'inet' ? 32 : 128;
  const prefix = prefixText === undefined ? (family === 'inet' ? 32 : 64) : Number(prefixText);
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { family, address, prefix };
}
