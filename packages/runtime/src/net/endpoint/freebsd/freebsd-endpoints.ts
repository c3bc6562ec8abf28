/**
 * FreeBSD endpoints: a tap(4) on the bridge for a VM, or an epair(4) whose "a" end is on the bridge and whose "b"
 * end lives in a VNET jail for a VM-less sandbox. Commands: ifconfig(8), jail(8), jexec(8), route(8), through the
 * one command runner. Every endpoint joins the prefix's interface group, so `ifconfig -g GROUP` finds leftovers.
 */
import {
  type CommandOptions,
  type CommandResult,
  type CommandRunner,
  CommandError,
  runChecked,
} from '../../../host/command-runner.ts';
import type { EndpointKind, InterfaceName, SandboxAddresses } from '../../types.ts';
import { parseInterfaceName } from '../../validate.ts';
import type { BridgeSetup, Endpoint, EndpointProvider } from '../endpoint.ts';
import { parseCreatedName, parseGroupMembers, parseInterfaceDetail } from './ifconfig-parse.ts';
import { endpointGroup, jailSideName } from './names.ts';

export class FreeBsdEndpoints implements EndpointProvider {
  constructor(
    private readonly runner: CommandRunner,
    private readonly prefix: string,
  ) {}

  private get group(): string {
    return endpointGroup(this.prefix);
  }

  async preflight(): Promise<string[]> {
    const reasons: string[] = [];
    for (const [module, what] of [
      ['if_bridge', 'bridges'],
      ['if_tuntap', 'taps'],
      ['if_epair', 'epairs'],
    ] as const) {
      const r = await this.runner.run(['kldstat', '-q', '-m', module]);
      if (r.code === 127) return ['kldstat not found: this does not look like a FreeBSD host'];
      if (r.code !== 0) reasons.push(`kernel module ${module} is not loaded (${what} unavailable): kldload ${module}`);
    }
    const vimage = await this.runner.run(['sysctl', '-n', 'kern.features.vimage']);
    if (vimage.code !== 0 || vimage.stdout.trim() !== '1')
      reasons.push('the kernel lacks VIMAGE: VNET jails (VM-less sandboxes) are unavailable');
    return reasons;
  }

  private async exists(name: string): Promise<boolean> {
    const r = await this.runner.run(['ifconfig', name]);
    if (r.code === 0) return true;
    if (/does not exist/.test(r.stderr)) return false;
    throw new CommandError(r);
  }

  async initBridge(setup: BridgeSetup): Promise<void> {
    if (!(await this.exists(setup.bridge))) {
      const created = parseCreatedName(
        (await runChecked(this.runner, ['ifconfig', 'bridge', 'create'])).stdout,
        'bridge',
      );
      try {
        await runChecked(this.runner, ['ifconfig', created, 'name', setup.bridge]);
      } catch (e) {
        await this.runner.run(['ifconfig', created, 'destroy']);
        throw e;
      }
    }
    const detail = parseInterfaceDetail((await runChecked(this.runner, ['ifconfig', setup.bridge])).stdout);
    if (!detail?.inet.some((a) => a.address === setup.gateway.ipv4)) {
      await runChecked(this.runner, [
        'ifconfig',
        setup.bridge,
        'inet',
        `${setup.gateway.ipv4}/${setup.ipv4PrefixLength}`,
        'alias',
      ]);
    }
    if (!detail?.inet6.some((a) => a.address === setup.gateway.ipv6)) {
      await runChecked(this.runner, [
        'ifconfig',
        setup.bridge,
        'inet6',
        `${setup.gateway.ipv6}/${setup.ipv6PrefixLength}`,
        'alias',
      ]);
    }
    await runChecked(this.runner, ['ifconfig', setup.bridge, 'description', `${this.prefix} cubenet bridge`, 'up']);
  }

  async destroyBridge(bridge: InterfaceName): Promise<void> {
    if (await this.exists(bridge)) await runChecked(this.runner, ['ifconfig', bridge, 'destroy']);
  }

  async create(kind: EndpointKind, name: InterfaceName, bridge: InterfaceName): Promise<Endpoint> {
    return kind === 'tap' ? this.createTap(name, bridge) : this.createJail(name, bridge);
  }

  private async createTap(name: InterfaceName, bridge: InterfaceName): Promise<Endpoint> {
    // The tap keeps its kernel name (see names.ts); cubenet's name goes into the description.
    const tap = parseInterfaceName(
      parseCreatedName((await runChecked(this.runner, ['ifconfig', 'tap', 'create'])).stdout, 'tap'),
    );
    try {
      await runChecked(this.runner, ['ifconfig', tap, 'group', this.group, 'description', name, 'up']);
      await runChecked(this.runner, ['ifconfig', bridge, 'addm', tap]);
    } catch (e) {
      await this.runner.run(['ifconfig', tap, 'destroy']);
      throw e;
    }
    return { kind: 'tap', hostInterface: tap };
  }

  private async createJail(name: InterfaceName, bridge: InterfaceName): Promise<Endpoint> {
    const inner = jailSideName(name);
    if (inner.length > 15)
      throw new Error(`endpoint name ${name} is too long for its jail-side interface ${inner} (15 characters at most)`);
    const a = parseCreatedName((await runChecked(this.runner, ['ifconfig', 'epair', 'create'])).stdout, 'epair');
    const b = `${a.slice(0, -1)}b`;
    let hostSide = a;
    let jailed = false;
    try {
      await runChecked(this.runner, ['ifconfig', a, 'name', name]);
      hostSide = name;
      await runChecked(this.runner, ['ifconfig', b, 'name', inner]);
      await runChecked(this.runner, ['ifconfig', name, 'group', this.group, 'description', name, 'up']);
      await runChecked(this.runner, ['ifconfig', bridge, 'addm', name]);
      await runChecked(this.runner, ['jail', '-c', `name=${name}`, 'vnet', `vnet.interface=${inner}`, 'persist']);
      jailed = true;
      await runChecked(this.runner, ['jexec', name, 'ifconfig', inner, 'up']);
    } catch (e) {
      if (jailed) await this.runner.run(['jail', '-r', name]);
      // Destroying either end of an epair destroys both.
      await this.runner.run(['ifconfig', hostSide, 'destroy']);
      throw e;
    }
    return { kind: 'isolated', hostInterface: name, isolation: name };
  }

  async address(endpoint: Endpoint, addresses: SandboxAddresses, setup: BridgeSetup): Promise<void> {
    if (endpoint.kind === 'tap') return;
    const jail = this.jailOf(endpoint);
    const inner = jailSideName(endpoint.hostInterface);
    await this.unaddress(endpoint);
    await runChecked(this.runner, [
      'jexec',
      jail,
      'ifconfig',
      inner,
      'inet',
      `${addresses.ipv4}/${setup.ipv4PrefixLength}`,
      'alias',
    ]);
    await runChecked(this.runner, [
      'jexec',
      jail,
      'ifconfig',
      inner,
      'inet6',
      `${addresses.ipv6}/${setup.ipv6PrefixLength}`,
      'alias',
    ]);
    await runChecked(this.runner, ['jexec', jail, 'route', 'add', 'default', setup.gateway.ipv4]);
    await runChecked(this.runner, ['jexec', jail, 'route', 'add', '-inet6', 'default', setup.gateway.ipv6]);
  }

  async unaddress(endpoint: Endpoint): Promise<void> {
    if (endpoint.kind === 'tap') return;
    const jail = this.jailOf(endpoint);
    const inner = jailSideName(endpoint.hostInterface);
    const detail = parseInterfaceDetail((await runChecked(this.runner, ['jexec', jail, 'ifconfig', inner])).stdout);
    for (const a of detail?.inet ?? [])
      await runChecked(this.runner, ['jexec', jail, 'ifconfig', inner, 'inet', a.address, '-alias']);
    for (const a of detail?.inet6 ?? []) {
      if (a.address.startsWith('fe80:')) continue;
      await runChecked(this.runner, ['jexec', jail, 'ifconfig', inner, 'inet6', a.address, '-alias']);
    }
    for (const family of [[], ['-inet6']]) {
      const r = await this.runner.run(['jexec', jail, 'route', 'delete', ...family, 'default']);
      if (r.code !== 0 && !/No such process|not in table/.test(r.stderr)) throw new CommandError(r);
    }
  }

  async destroy(endpoint: Endpoint): Promise<void> {
    if (endpoint.kind === 'isolated') {
      const r = await this.runner.run(['jail', '-r', this.jailOf(endpoint)]);
      if (r.code !== 0 && !/not found/.test(r.stderr)) throw new CommandError(r);
    }
    const r = await this.runner.run(['ifconfig', endpoint.hostInterface, 'destroy']);
    if (r.code !== 0 && !/does not exist/.test(r.stderr)) throw new CommandError(r);
  }

  commandIn(endpoint: Endpoint, argv: readonly string[]): string[] {
    return ['jexec', this.jailOf(endpoint), ...argv];
  }

  exec(endpoint: Endpoint, argv: readonly string[], options?: CommandOptions): Promise<CommandResult> {
    return this.runner.run(this.commandIn(endpoint, argv), options);
  }

  async list(prefix: string): Promise<Endpoint[]> {
    const out = new Map<string, Endpoint>();
    const members = parseGroupMembers(
      (await runChecked(this.runner, ['ifconfig', '-g', endpointGroup(prefix)])).stdout,
    );
    for (const m of members) {
      const name = parseInterfaceName(m);
      out.set(
        name,
        /^tap\d+$/.test(name)
          ? { kind: 'tap', hostInterface: name }
          : { kind: 'isolated', hostInterface: name, isolation: name },
      );
    }
    // A jail whose host-side interface is gone (a crash between the two steps) is a leftover too.
    const jails = await this.runner.run(['jls', 'name']);
    if (jails.code === 0) {
      for (const j of jails.stdout.split('\n').map((l) => l.trim())) {
        if (j.startsWith(`${prefix}-`) && !out.has(j)) {
          const name = parseInterfaceName(j);
          out.set(name, { kind: 'isolated', hostInterface: name, isolation: name });
        }
      }
    }
    return [...out.values()];
  }

  private jailOf(endpoint: Endpoint): string {
    if (!endpoint.isolation) throw new Error(`endpoint ${endpoint.hostInterface} has no jail`);
    return endpoint.isolation;
  }
}
