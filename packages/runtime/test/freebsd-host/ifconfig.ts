import { type FreeBsdHost, ToolFailure, type ToolOutput } from './host.ts';
import { jailState } from './jail.ts';
import {
  type NetIf,
  type NetState,
  addInterface,
  netState,
  parseInterfaceAddress,
  visibleInterfaces,
} from './netif.ts';

/**
 * ifconfig(8) for the model: `-l`, `-g GROUP`, `IF create` (the cloners tap, epair and bridge; with no unit number the
 * new name is printed, as ifconfig does), `IF destroy`, and the parameters the runtime uses: up/down, addm/deletem
 * (if_bridge(4)), inet/inet6 [alias], -alias, description, group/-group, vnet/-vnet, name. Anything else is refused
 * the way ifconfig refuses it. `vnet` selects whose network stack the command runs in (jexec passes the jail).
 */
const IFNAMSIZ = 16;
const CLONERS = ['tap', 'epair', 'bridge'] as const;
type Cloner = (typeof CLONERS)[number];

export function registerIfconfig(host: FreeBsdHost): void {
  host.register('ifconfig', (h, args) => ifconfig(h, args, null));
}

export function ifconfig(host: FreeBsdHost, args: string[], vnet: string | null): ToolOutput {
  const net = netState(host);
  const [first, ...rest] = args;
  if (first === undefined)
    throw new ToolFailure('usage: ifconfig [-L] [-C] [-g groupname] interface address_family ...', 1);
  if (first === '-l') {
    if (rest.length > 0) throw new ToolFailure(`-l: unsupported arguments: ${rest.join(' ')}`);
    return {
      stdout: `${visibleInterfaces(net, vnet)
        .map((i) => i.name)
        .join(' ')}\n`,
    };
  }
  if (first === '-g') {
    const group = rest[0];
    if (!group || rest.length > 1) throw new ToolFailure('usage: ifconfig -g groupname');
    const members = visibleInterfaces(net, vnet).filter((i) => i.groups.has(group));
    return { stdout: members.map((i) => `${i.name}\n`).join('') };
  }
  if (first.startsWith('-')) throw new ToolFailure(`illegal option -- ${first.slice(1)}`);
  checkName(first);

  if (rest[0] === 'create') return create(host, net, first, rest.slice(1), vnet);
  const iface = lookup(net, first, vnet);
  if (rest.length === 0) return { stdout: describe(net, iface) };
  if (rest[0] === 'destroy') {
    if (rest.length > 1) throw new ToolFailure(`destroy takes no further parameters`);
    destroy(net, iface);
    return {};
  }
  applyParameters(host, net, iface, rest, vnet);
  return {};
}

function checkName(name: string): void {
  if (name.length >= IFNAMSIZ || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new ToolFailure(`interface ${name} does not exist`);
  }
}

function lookup(net: NetState, name: string, vnet: string | null): NetIf {
  const iface = net.interfaces.get(name);
  if (!iface || iface.vnet !== vnet) throw new ToolFailure(`interface ${name} does not exist`);
  return iface;
}

function create(
  host: FreeBsdHost,
  net: NetState,
  requested: string,
  params: string[],
  vnet: string | null,
): ToolOutput {
  const m = /^(tap|epair|bridge)(\d+)?$/.exec(requested);
  if (!m) throw new ToolFailure(`SIOCIFCREATE2 (${requested}): Invalid argument`);
  const cloner = m[1] as Cloner;
  const units = net.units.get(cloner) ?? new Set<number>();
  net.units.set(cloner, units);
  const unit = m[2] === undefined ? freeUnit(net, cloner, units) : Number(m[2]);
  const name = cloner === 'epair' ? `epair${unit}a` : `${cloner}${unit}`;
  if (units.has(unit) || net.interfaces.has(name) || (cloner === 'epair' && net.interfaces.has(`epair${unit}b`))) {
    throw new ToolFailure(`SIOCIFCREATE2 (${requested}): File exists`);
  }
  units.add(unit);
  const iface = addInterface(net, name, cloner, vnet);
  iface.unit = unit;
  if (cloner === 'epair') {
    const b = addInterface(net, `epair${unit}b`, 'epair', vnet);
    b.unit = unit;
    iface.peer = b.name;
    b.peer = iface.name;
  }
  if (params.length > 0) applyParameters(host, net, iface, params, vnet);
  // ifconfig prints the interface's name when the kernel chose it (no unit given), as `ifconfig tap create` does.
  return { stdout: m[2] === undefined ? `${name}\n` : '' };
}

function freeUnit(net: NetState, cloner: Cloner, units: Set<number>): number {
  for (let unit = 0; ; unit++) {
    const name = cloner === 'epair' ? `epair${unit}a` : `${cloner}${unit}`;
    if (!units.has(unit) && !net.interfaces.has(name)) return unit;
  }
}

function destroy(net: NetState, iface: NetIf): void {
  if (iface.kind !== 'tap' && iface.kind !== 'epair' && iface.kind !== 'bridge') {
    throw new ToolFailure(`SIOCIFDESTROY: Invalid argument`);
  }
  const doomed = [iface];
  // Destroying either end of an epair(4) destroys the pair, wherever the other end lives.
  if (iface.peer) {
    const peer = net.interfaces.get(iface.peer);
    if (peer) doomed.push(peer);
  }
  for (const d of doomed) {
    if (d.unit !== undefined) net.units.get(d.kind)?.delete(d.unit);
    net.interfaces.delete(d.name);
    for (const other of net.interfaces.values()) other.members = other.members.filter((m) => m !== d.name);
  }
}

function applyParameters(host: FreeBsdHost, net: NetState, iface: NetIf, params: string[], vnet: string | null): void {
  for (let i = 0; i < params.length; i++) {
    const p = params[i] as string;
    const arg = (): string => {
      const v = params[++i];
      if (v === undefined) throw new ToolFailure(`${p}: missing argument`);
      return v;
    };
    switch (p) {
      case 'up':
        iface.up = true;
        break;
      case 'down':
        iface.up = false;
        break;
      case 'addm':
      case 'deletem': {
        const memberName = arg();
        if (iface.kind !== 'bridge') throw new ToolFailure(`${p}: Invalid argument`);
        const member = net.interfaces.get(memberName);
        if (!member || member.vnet !== vnet) {
          throw new ToolFailure(`BRDG${p === 'addm' ? 'ADD' : 'DEL'} ${memberName}: No such file or directory`);
        }
        if (p === 'addm') {
          const owner = [...net.interfaces.values()].find((b) => b.members.includes(memberName));
          if (owner) throw new ToolFailure(`BRDGADD ${memberName}: File exists`);
          if (member.kind === 'bridge' || member.kind === 'loopback')
            throw new ToolFailure(`BRDGADD ${memberName}: Invalid argument`);
          iface.members.push(memberName);
        } else {
          if (!iface.members.includes(memberName))
            throw new ToolFailure(`BRDGDEL ${memberName}: No such file or directory`);
          iface.members = iface.members.filter((m) => m !== memberName);
        }
        break;
      }
      case 'inet':
      case 'inet6': {
        const text = arg();
        const address = parseInterfaceAddress(text, p);
        if (!address)
          throw new ToolFailure(`error in parsing address string: hostname nor servname provided, or not known`);
        const next = params[i + 1];
        const alias = next === 'alias';
        const remove = next === '-alias' || next === 'delete';
        if (alias || remove) i++;
        const same = (a: { address: string }) => a.address === address.address;
        if (remove) {
          if (!iface.addresses.some(same)) throw new ToolFailure(`ioctl (SIOCDIFADDR): Can't assign requested address`);
          iface.addresses = iface.addresses.filter((a) => !same(a));
        } else {
          // Without "alias", a new inet address replaces the interface's first one of that family (ifconfig(8)).
          if (!alias && p === 'inet') {
            const idx = iface.addresses.findIndex((a) => a.family === 'inet');
            if (idx >= 0) iface.addresses.splice(idx, 1);
          }
          if (!iface.addresses.some(same)) iface.addresses.push(address);
        }
        break;
      }
      case 'description':
      case 'descr':
        iface.description = arg();
        break;
      case '-description':
      case '-descr':
        delete iface.description;
        break;
      case 'group': {
        const g = arg();
        // ifconfig(8): "The interface group name ... may not end in a digit."
        if (/\d$/.test(g) || g.length >= IFNAMSIZ || !/^[A-Za-z0-9_.-]+$/.test(g)) {
          throw new ToolFailure(`setifgroup: Invalid argument`);
        }
        iface.groups.add(g);
        break;
      }
      case '-group':
        iface.groups.delete(arg());
        break;
      case 'vnet': {
        const jail = arg();
        if (vnet !== null) throw new ToolFailure(`SIOCSIFVNET: Operation not permitted`);
        const target = jailState(host).jails.get(jail);
        if (!target?.vnet) throw new ToolFailure(`jail "${jail}" not found`);
        moveToVnet(net, iface, jail);
        break;
      }
      case '-vnet': {
        const jail = arg();
        if (iface.vnet !== jail) throw new ToolFailure(`SIOCSIFRVNET: Invalid argument`);
        iface.vnet = null;
        break;
      }
      case 'name': {
        const newName = arg();
        checkName(newName);
        if (net.interfaces.has(newName)) throw new ToolFailure(`ioctl SIOCSIFNAME (set name): File exists`);
        net.interfaces.delete(iface.name);
        for (const other of net.interfaces.values()) {
          other.members = other.members.map((m) => (m === iface.name ? newName : m));
          if (other.peer === iface.name) other.peer = newName;
        }
        iface.name = newName;
        net.interfaces.set(newName, iface);
        break;
      }
      default:
        throw new ToolFailure(`${p}: bad value`);
    }
  }
}

/** Moves an interface into a jail's network stack: it leaves any bridge and loses its addresses (as on FreeBSD). */
export function moveToVnet(net: NetState, iface: NetIf, jail: string | null): void {
  for (const other of net.interfaces.values()) other.members = other.members.filter((m) => m !== iface.name);
  iface.addresses = [];
  iface.up = false;
  iface.vnet = jail;
}

function netmask(prefix: number): string {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return `0x${mask.toString(16).padStart(8, '0')}`;
}

function describe(net: NetState, iface: NetIf): string {
  const flags = iface.up ? '8863<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST>' : '8802<BROADCAST,SIMPLEX,MULTICAST>';
  const lines = [`${iface.name}: flags=${flags} metric 0 mtu 1500`];
  if (iface.description !== undefined) lines.push(`\tdescription: ${iface.description}`);
  if (iface.kind !== 'loopback') lines.push(`\tether ${iface.mac}`);
  for (const a of iface.addresses) {
    lines.push(
      a.family === 'inet'
        ? `\tinet ${a.address} netmask ${netmask(a.prefix)}`
        : `\tinet6 ${a.address} prefixlen ${a.prefix}`,
    );
  }
  for (const m of iface.members) lines.push(`\tmember: ${m} flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>`);
  if (iface.groups.size > 0) lines.push(`\tgroups: ${[...iface.groups].join(' ')}`);
  void net;
  return `${lines.join('\n')}\n`;
}
