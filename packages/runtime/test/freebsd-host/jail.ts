import { type FreeBsdHost, ToolFailure, type ToolOutput } from './host.ts';
import { ifconfig, moveToVnet } from './ifconfig.ts';
import { familyOf } from './inet.ts';
import { netState } from './netif.ts';

/**
 * jail(8) (`-c` with name=, vnet, vnet.interface=, persist, host.hostname=, path=; `-r NAME`), jexec(8) running the
 * in-jail ifconfig and route the runtime needs, and jls(8) listing parameters. A VNET jail owns the interfaces
 * moved into it; on removal they return to the host, as jail(8) says of vnet.interface ("automatically released
 * when the jail is removed").
 */
export interface Jail {
  jid: number;
  name: string;
  vnet: boolean;
  persist: boolean;
  hostname: string;
  path: string;
  /** Default routes set with route(8) inside the jail. */
  routes: { inet?: string; inet6?: string };
}

export interface JailState {
  jails: Map<string, Jail>;
  nextJid: number;
}

export function jailState(host: FreeBsdHost): JailState {
  return host.part('jails', () => ({ jails: new Map<string, Jail>(), nextJid: 1 }));
}

const KNOWN_PARAMS = new Set(['name', 'vnet', 'vnet.interface', 'persist', 'host.hostname', 'path', 'nopersist']);

export function registerJail(host: FreeBsdHost): void {
  host.register('jail', (h, args) => jail(h, args));
  host.register('jexec', (h, args) => jexec(h, args));
  host.register('jls', (h, args) => jls(h, args));
}

function jail(host: FreeBsdHost, args: string[]): ToolOutput {
  const [flag, ...rest] = args;
  const state = jailState(host);
  if (flag === '-r') {
    const name = rest[0];
    if (!name || rest.length > 1) throw new ToolFailure('usage: jail -r jail');
    const j = state.jails.get(name);
    if (!j) throw new ToolFailure(`"${name}" not found`);
    const net = netState(host);
    for (const iface of net.interfaces.values()) if (iface.vnet === name) moveToVnet(net, iface, null);
    state.jails.delete(name);
    return { stdout: `${name}: removed\n` };
  }
  if (flag !== '-c')
    throw new ToolFailure(
      'usage: jail [-dhilqv] [-J jid_file] [-u username] [-U username] -[cmr] param=value ... [command=command ...]',
    );

  const params = new Map<string, string>();
  const interfaces: string[] = [];
  for (const a of rest) {
    const eq = a.indexOf('=');
    const key = eq < 0 ? a : a.slice(0, eq);
    const value = eq < 0 ? 'true' : a.slice(eq + 1);
    if (!KNOWN_PARAMS.has(key)) throw new ToolFailure(`unknown parameter: ${key}`);
    if (key === 'vnet.interface') interfaces.push(value);
    else params.set(key, value);
  }
  const name = params.get('name');
  if (!name) throw new ToolFailure('jail name is required');
  // jail(8): names are dot-separated paths of nested jails; a numeric name would be taken for a jid.
  if (!/^[A-Za-z0-9_-]+$/.test(name) || /^\d+$/.test(name)) throw new ToolFailure(`${name}: invalid jail name`);
  if (state.jails.has(name)) throw new ToolFailure(`${name}: jail ${name} already exists`);
  const vnet = params.has('vnet') && params.get('vnet') !== 'inherit';
  const persist = params.has('persist');
  if (!persist) throw new ToolFailure(`${name}: no command specified and not persistent`);
  if (interfaces.length > 0 && !vnet) throw new ToolFailure(`${name}: vnet.interface: vnet is not set`);
  const net = netState(host);
  for (const ifname of interfaces) {
    const iface = net.interfaces.get(ifname);
    if (!iface || iface.vnet !== null) throw new ToolFailure(`${name}: ifconfig ${ifname} vnet ${name}: failed`);
  }
  const j: Jail = {
    jid: state.nextJid++,
    name,
    vnet,
    persist,
    hostname: params.get('host.hostname') ?? '',
    path: params.get('path') ?? '/',
    routes: {},
  };
  state.jails.set(name, j);
  for (const ifname of interfaces) moveToVnet(net, net.interfaces.get(ifname)!, name);
  return { stdout: `${name}: created\n` };
}

function jexec(host: FreeBsdHost, args: string[]): ToolOutput {
  const [name, command, ...rest] = args;
  if (!name || !command) throw new ToolFailure('usage: jexec [-l] [-u username | -U username] jail [command ...]');
  const state = jailState(host);
  const j = state.jails.get(name) ?? [...state.jails.values()].find((x) => String(x.jid) === name);
  if (!j) throw new ToolFailure(`jail "${name}" not found`);
  const vnet = j.vnet ? j.name : null;
  switch (command.split('/').pop()) {
    case 'ifconfig':
      return ifconfig(host, rest, vnet);
    case 'route':
      return route(j, rest);
    default:
      throw new ToolFailure(`execvp: ${command}: No such file or directory`);
  }
}

/** route(8) inside a jail: `route add [-inet6] default GATEWAY` and `route delete [-inet6] default`. */
function route(j: Jail, args: string[]): ToolOutput {
  if (!j.vnet) throw new ToolFailure('writing to routing socket: Operation not permitted');
  const [verb, ...rest] = args;
  const inet6 = rest[0] === '-inet6' || rest[0] === '-6';
  const tail = inet6 || rest[0] === '-inet' || rest[0] === '-4' ? rest.slice(1) : rest;
  if (tail[0] !== 'default') throw new ToolFailure(`${tail[0] ?? ''}: bad address`);
  const family = inet6 ? 'inet6' : 'inet';
  if (verb === 'add') {
    const gw = tail[1];
    if (!gw || familyOf(gw) !== family || tail.length > 2) throw new ToolFailure(`${gw ?? ''}: bad address`);
    if (j.routes[family]) throw new ToolFailure('writing to routing socket: File exists');
    j.routes[family] = gw;
    return { stdout: `add net default: gateway ${gw}\n` };
  }
  if (verb === 'delete') {
    if (!j.routes[family]) throw new ToolFailure('writing to routing socket: No such process');
    delete j.routes[family];
    return { stdout: `delete net default\n` };
  }
  throw new ToolFailure(`${verb ?? ''}: invalid command`);
}

function jls(host: FreeBsdHost, args: string[]): ToolOutput {
  const state = jailState(host);
  const params = args.filter((a) => !a.startsWith('-'));
  if (args.some((a) => a.startsWith('-'))) throw new ToolFailure(`unsupported option in the model: ${args.join(' ')}`);
  const value = (j: Jail, p: string): string => {
    switch (p) {
      case 'jid':
        return String(j.jid);
      case 'name':
        return j.name;
      case 'host.hostname':
        return j.hostname;
      case 'path':
        return j.path;
      case 'vnet':
        return j.vnet ? 'new' : 'inherit';
      default:
        throw new ToolFailure(`unknown parameter: ${p}`);
    }
  };
  const jails = [...state.jails.values()].sort((a, b) => a.jid - b.jid);
  if (params.length === 0) {
    const header = '   JID  IP Address      Hostname                      Path\n';
    return {
      stdout:
        header +
        jails
          .map((j) => `${String(j.jid).padStart(6)}  ${''.padEnd(15)} ${j.hostname.padEnd(29)} ${j.path}\n`)
          .join(''),
    };
  }
  return { stdout: jails.map((j) => `${params.map((p) => value(j, p)).join(' ')}\n`).join('') };
}
