/**
 * Linux endpoints: a tap on the bridge for a VM, or a network namespace joined to the bridge by a veth pair for a
 * VM-less sandbox (the namespace has the same name as the host end of the veth; inside, the other end is "eth0").
 * Each change is one `ip -batch` process.
 */
import { access, readdir } from 'node:fs/promises';
import {
  runChecked,
  type CommandOptions,
  type CommandResult,
  type CommandRunner,
} from '../../../host/command-runner.ts';
import type { EndpointKind, InterfaceName, SandboxAddresses } from '../../types.ts';
import { parseInterfaceName } from '../../validate.ts';
import type { BridgeSetup, Endpoint, EndpointProvider } from '../endpoint.ts';

const NETNS_DIR = '/run/netns';
const INSIDE = 'eth0';

export class LinuxEndpoints implements EndpointProvider {
  constructor(private readonly runner: CommandRunner) {}

  async preflight(): Promise<string[]> {
    const r = await this.runner.run(['ip', '-V']).catch(() => ({ code: -1 }));
    return r.code === 0 ? [] : ['iproute2 (`ip`) is missing'];
  }

  private async batch(lines: string[], netns?: string, force = false): Promise<void> {
    const argv = ['ip', ...(netns ? ['-n', netns] : []), ...(force ? ['-force'] : []), '-batch', '-'];
    await runChecked(this.runner, argv, { input: `${lines.join('\n')}\n` });
  }

  async initBridge(s: BridgeSetup): Promise<void> {
    await this.batch([
      ...((await linkExists(s.bridge)) ? [] : [`link add ${s.bridge} type bridge`]),
      `addr replace ${s.gateway.ipv4}/${s.ipv4PrefixLength} dev ${s.bridge}`,
      `addr replace ${s.gateway.ipv6}/${s.ipv6PrefixLength} dev ${s.bridge} nodad`,
      `link set ${s.bridge} up`,
    ]);
  }

  async destroyBridge(bridge: InterfaceName): Promise<void> {
    if (await linkExists(bridge)) await this.batch([`link del ${bridge}`]);
  }

  async create(kind: EndpointKind, name: InterfaceName, bridge: InterfaceName): Promise<Endpoint> {
    if (kind === 'tap') {
      await this.batch([`tuntap add dev ${name} mode tap`, `link set ${name} master ${bridge} up`]);
      return { kind, hostInterface: name };
    }
    await this.batch([
      `netns add ${name}`,
      `link add ${name} type veth peer name ${INSIDE} netns ${name}`,
      `link set ${name} master ${bridge} up`,
    ]);
    await this.batch(['link set lo up', `link set ${INSIDE} up`], name);
    return { kind, hostInterface: name, isolation: name };
  }

  async address(endpoint: Endpoint, a: SandboxAddresses, s: BridgeSetup): Promise<void> {
    if (!endpoint.isolation) return;
    await this.batch(
      [
        `addr flush dev ${INSIDE} scope global`,
        `addr add ${a.ipv4}/${s.ipv4PrefixLength} dev ${INSIDE}`,
        `addr add ${a.ipv6}/${s.ipv6PrefixLength} dev ${INSIDE} nodad`,
        `route replace default via ${s.gateway.ipv4}`,
        `route replace default via ${s.gateway.ipv6}`,
      ],
      endpoint.isolation,
    );
  }

  async unaddress(endpoint: Endpoint): Promise<void> {
    if (!endpoint.isolation) return;
    await this.batch([`addr flush dev ${INSIDE} scope global`], endpoint.isolation);
  }

  async destroy(endpoint: Endpoint): Promise<void> {
    const namespaces = await this.namespaces();
    const lines: string[] = [];
    if (await linkExists(endpoint.hostInterface)) lines.push(`link del ${endpoint.hostInterface}`);
    if (endpoint.isolation && namespaces.includes(endpoint.isolation)) lines.push(`netns delete ${endpoint.isolation}`);
    if (lines.length) await this.batch(lines);
  }

  async destroyMany(endpoints: Endpoint[]): Promise<void> {
    const namespaces = new Set(await this.namespaces());
    const lines: string[] = [];
    for (const e of endpoints) {
      if (await linkExists(e.hostInterface)) lines.push(`link del ${e.hostInterface}`);
      if (e.isolation && namespaces.has(e.isolation)) lines.push(`netns delete ${e.isolation}`);
    }
    // One process for all of them; -force goes on past an object that vanished meanwhile.
    if (lines.length) await this.batch(lines, undefined, true);
    const left = [];
    for (const e of endpoints)
      if ((await linkExists(e.hostInterface)) || (e.isolation && (await this.namespaces()).includes(e.isolation)))
        left.push(e.hostInterface);
    if (left.length) throw new Error(`could not destroy endpoints: ${left.join(', ')}`);
  }

  commandIn(endpoint: Endpoint, argv: readonly string[]): string[] {
    if (!endpoint.isolation)
      throw new Error(`endpoint ${endpoint.hostInterface} is a tap: commands run in its VM, not on the host`);
    return ['ip', 'netns', 'exec', endpoint.isolation, ...argv];
  }

  exec(endpoint: Endpoint, argv: readonly string[], options?: CommandOptions): Promise<CommandResult> {
    return this.runner.run(this.commandIn(endpoint, argv), options);
  }

  async list(prefix: string): Promise<Endpoint[]> {
    const r = await runChecked(this.runner, ['ip', '-d', '-j', 'link', 'show']);
    const links = JSON.parse(r.stdout) as Array<{ ifname: string; linkinfo?: { info_kind?: string } }>;
    const namespaces = await this.namespaces();
    const out = new Map<string, Endpoint>();
    const mine = (n: string) => n.startsWith(`${prefix}-`) && n !== bridgeName(prefix);
    for (const l of links) {
      if (!mine(l.ifname)) continue;
      const name = parseInterfaceName(l.ifname);
      const kind: EndpointKind = l.linkinfo?.info_kind === 'tun' ? 'tap' : 'isolated';
      out.set(name, kind === 'tap' ? { kind, hostInterface: name } : { kind, hostInterface: name, isolation: name });
    }
    for (const ns of namespaces) {
      if (mine(ns) && !out.has(ns)) {
        const name = parseInterfaceName(ns);
        out.set(ns, { kind: 'isolated', hostInterface: name, isolation: name });
      }
    }
    return [...out.values()];
  }

  private async namespaces(): Promise<string[]> {
    return readdir(NETNS_DIR).catch(() => []);
  }
}

export function bridgeName(prefix: string): InterfaceName {
  return parseInterfaceName(`${prefix}-br`);
}

/** Whether a host interface exists (sysfs: no process needed). */
async function linkExists(name: string): Promise<boolean> {
  return access(`/sys/class/net/${name}`).then(
    () => true,
    () => false,
  );
}
