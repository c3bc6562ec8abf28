/**
 * A whole sandbox's load or release as request items of the netlink element writer (set-element-writer.ts): the same
 * transaction as renderSandbox / renderRemoveSandbox (render.ts) write as nft text, item for item in the same order,
 * without nft's ~3.5 µs of parsing and evaluation per element and its cache fetch of the table. Everything a
 * sandbox holds is an element of a shared set or map, in the inet table or the bridge table of the same name, so one
 * helper transaction spans both; "ensure present" is an `e` item (an identical element is left alone, one with other
 * data fails, as nft's `add element`), "ensure absent" an `e` then a `d` of the same element.
 */
import type { PortForward, SandboxAddresses, SandboxId } from '../../types.ts';
import { ipv4ToNumber } from '../../validate.ts';
import {
  elementDiff,
  INTERNET_SETS,
  MEMBER_SETS,
  memberComment,
  sameForward,
  type SandboxElements,
  type SandboxSpec,
} from './render.ts';
import { addressRange, encodeSetItems } from './set-element-writer.ts';

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const PROTOCOL_NUMBERS: Record<PortForward['protocol'], number> = { tcp: 6, udp: 17 };

const hexOf = (text: string) => Buffer.from(text, 'latin1').toString('hex');

/** One address's bytes (IPv4 or IPv6, not a CIDR). */
function addressHex(address: string): string {
  const [from, to] = addressRange(address);
  if (from !== to || address.includes('/'))
    throw new Error(`set element: ${JSON.stringify(address)} is not one address`);
  return from;
}

/** An interface name as the kernel keys `ifname`: its bytes padded with NULs to IFNAMSIZ (16). */
function ifnameHex(name: string): string {
  if (!IFNAME.test(name)) throw new Error(`set element: ${JSON.stringify(name)} is not an interface name`);
  return hexOf(name).padEnd(32, '0');
}

/** A port as the kernel keys `inet_service`: two bytes in network order, padded to four. */
function portHex(port: number): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`set element: bad port ${port}`);
  return port.toString(16).padStart(4, '0') + '0000';
}

const ADDRESS_KEYED = new Set<string>(Object.values(INTERNET_SETS));

/** Items for keys of one set: `<sandbox address> . <destination>`, or the sandbox address alone (internet4/6). */
function setItems(op: 'e' | 'd', set: string, keys: string[], into: string[]): void {
  if (!ADDRESS_KEYED.has(set)) return encodeSetItems(op, set, keys, into);
  for (const k of keys) into.push(`${op} ${set} ${addressHex(k)}`);
}

/** Deletes of `before − after`, then adds of `after − before` (as renderElementChanges). */
function elementItems(before: SandboxElements, after: SandboxElements, into: string[]): void {
  const diff = elementDiff(before, after);
  for (const { set, gone } of diff) if (gone.length) setItems('d', set, gone, into);
  for (const { set, added } of diff) if (added.length) setItems('e', set, added, into);
}

function memberItems(id: SandboxId, a: SandboxAddresses, want: 'present' | 'absent', into: string[]): void {
  const comment = hexOf(memberComment(id));
  const members = [`${MEMBER_SETS.ipv4} ${addressHex(a.ipv4)}`, `${MEMBER_SETS.ipv6} ${addressHex(a.ipv6)}`];
  for (const m of members) into.push(`e ${m}+${comment}`);
  if (want === 'absent') for (const m of members) into.push(`d ${m}`);
}

function spoofItems(hostInterface: string, a: SandboxAddresses, want: 'present' | 'absent', into: string[]): void {
  const i = ifnameHex(hostInterface);
  const v6 = addressHex(a.ipv6);
  const els = [`bridge:src4 ${i}${addressHex(a.ipv4)}`, `bridge:src6 ${i}${v6}`, `bridge:nd6 ${i}${v6}`];
  for (const e of els) into.push(`e ${e}`);
  if (want === 'absent') for (const e of els) into.push(`d ${e}`);
}

function forwardItems(a: SandboxAddresses, f: PortForward, want: 'present' | 'absent', into: string[]): void {
  const protocol = PROTOCOL_NUMBERS[f.protocol];
  if (protocol === undefined) throw new Error(`set element: bad protocol ${JSON.stringify(f.protocol)}`);
  const key = protocol.toString(16).padStart(2, '0') + '000000' + portHex(f.hostPort);
  const target = portHex(f.sandboxPort);
  if (ipv4ToNumber(a.ipv4) === undefined)
    throw new Error(`set element: ${JSON.stringify(a.ipv4)} is not an IPv4 address`);
  const els = [`fwd4 ${key}`, `fwd6 ${key}`];
  into.push(`e ${els[0]}=${addressHex(a.ipv4)}${target}`, `e ${els[1]}=${addressHex(a.ipv6)}${target}`);
  if (want === 'absent') for (const e of els) into.push(`d ${e}`);
}

/** renderSandbox's transaction as items: `held` is what the sandbox's keys hold now, `after` its new elements. */
export function sandboxItems(
  r: SandboxSpec,
  held: SandboxElements,
  after: SandboxElements,
  previous?: SandboxSpec,
): string {
  const out: string[] = [];
  elementItems(held, after, out);
  memberItems(r.id, r.addresses, 'present', out);
  if (previous?.hostInterface && previous.hostInterface !== r.hostInterface)
    spoofItems(previous.hostInterface, previous.addresses, 'absent', out);
  if (r.hostInterface) spoofItems(r.hostInterface, r.addresses, 'present', out);
  for (const f of previous?.forwards ?? []) {
    if (!r.forwards.some((g) => sameForward(f, g))) forwardItems(previous!.addresses, f, 'absent', out);
  }
  for (const f of r.forwards) forwardItems(r.addresses, f, 'present', out);
  return out.join(' ');
}

/** renderRemoveSandbox's transaction as items: membership first, then its elements, forwards and spoof entries. */
export function removeSandboxItems(
  id: SandboxId,
  known: { addresses: SandboxAddresses; forwards: PortForward[]; hostInterface?: string },
  held: SandboxElements,
): string {
  const out: string[] = [];
  memberItems(id, known.addresses, 'absent', out);
  elementItems(held, new Map(), out);
  for (const f of known.forwards) forwardItems(known.addresses, f, 'absent', out);
  if (known.hostInterface) spoofItems(known.hostInterface, known.addresses, 'absent', out);
  return out.join(' ');
}
