/**
 * The Linux firewall backend: one nftables `inet` table (plus a `bridge` table for anti-spoofing) named after the
 * prefix, a chain and six sets per sandbox, every change one `nft -f -` transaction, and conntrack for states.
 */
import { readFile } from 'node:fs/promises';
import { CommandError, runChecked, type CommandRunner } from '../../../host/command-runner.ts';
import type { AddressList, PortForward, SandboxAddresses, SandboxId } from '../../types.ts';
import { inSubnet, parseAddress, parseSandboxId } from '../../validate.ts';
import type { Binding, ConnectionState, FirewallBackend, FirewallInventory, KernelSandbox, SandboxRules } from '../firewall.ts';
import { NftSession } from './session.ts';
import {
  renderAddElements,
  renderForward,
  renderInit,
  renderRemoveSandbox,
  renderSandbox,
  sandboxSetNames,
  type SandboxSpec,
} from './render.ts';

export class NftablesFirewall implements FirewallBackend {
  readonly kind = 'nftables' as const;

  private readonly session?: NftSession;

  constructor(
    private readonly runner: CommandRunner,
    /** The table name: the cubenet prefix. */
    readonly table: string,
    /** Apply changes through one long-lived `nft -i` (no spawn per change) instead of `nft -f -` per change. */
    options: { persistentSession?: boolean } = {},
  ) {
    if (options.persistentSession) this.session = new NftSession(table);
  }

  /** Stops the persistent nft process, if any. */
  close(): void {
    this.session?.close();
  }

  async preflight(): Promise<string[]> {
    const reasons: string[] = [];
    const probe = await this.runner.run(['nft', 'list', 'tables']).catch((e: Error) => ({ code: -1, stderr: e.message, stdout: '' }));
    if (probe.code !== 0) reasons.push(`nftables is not usable (nft list tables: ${(probe.stderr || 'failed').trim()}); install the nftables package and run as root`);
    for (const family of ['iptables', 'ip6tables']) {
      const value = await readFile(`/proc/sys/net/bridge/bridge-nf-call-${family}`, 'utf8').catch(() => undefined);
      if (value === undefined) reasons.push(`bridge netfilter is missing (/proc/sys/net/bridge/bridge-nf-call-${family} does not exist): the kernel needs br_netfilter, which cannot be loaded here`);
      else if (value.trim() !== '1') reasons.push(`net.bridge.bridge-nf-call-${family} is ${value.trim()}, not 1: bridged traffic would bypass the firewall (sysctl -w net.bridge.bridge-nf-call-${family}=1)`);
    }
    const ct = await this.runner.run(['conntrack', '--version']).catch(() => ({ code: -1 }));
    if (ct.code !== 0) reasons.push('conntrack (conntrack-tools) is missing: states could not be killed');
    return reasons;
  }

  private async apply(script: string): Promise<void> {
    if (!script) return;
    if (this.session) return this.session.apply(script);
    await runChecked(this.runner, ['nft', '-f', '-'], { input: script });
  }

  async init(setup: { bridge: string; ipv4Subnet: string; ipv6Subnet: string }): Promise<void> {
    await this.apply(renderInit({ table: this.table, ...setup }));
  }

  async destroy(): Promise<void> {
    // `add` first makes the delete idempotent.
    await this.apply(`add table inet ${this.table}\ndelete table inet ${this.table}\nadd table bridge ${this.table}\ndelete table bridge ${this.table}\n`);
  }

  async applySandbox(rules: SandboxRules, previous?: SandboxRules): Promise<void> {
    await this.apply(renderSandbox(this.table, rules as SandboxSpec, previous as SandboxSpec | undefined));
  }

  async addAddresses(id: SandboxId, list: AddressList, entries: string[]): Promise<void> {
    await this.apply(renderAddElements(this.table, id, list, entries, false));
  }

  async replaceAddresses(id: SandboxId, list: AddressList, entries: string[]): Promise<void> {
    await this.apply(renderAddElements(this.table, id, list, entries, true));
  }

  async addForward(rules: SandboxRules, forward: PortForward): Promise<void> {
    await this.apply(renderForward(this.table, rules.addresses, forward, 'present'));
  }

  async removeForward(rules: SandboxRules, forward: PortForward): Promise<void> {
    await this.apply(renderForward(this.table, rules.addresses, forward, 'absent'));
  }

  async removeSandbox(id: SandboxId, known?: Omit<SandboxRules, 'id' | 'policy'>): Promise<void> {
    await this.apply(renderRemoveSandbox(this.table, id, known as Omit<SandboxSpec, 'id' | 'policy'> | undefined));
  }

  /**
   * Reads the connection table once (from /proc/net/nf_conntrack when the kernel offers it: no process at all) and
   * runs `conntrack -D` only for the selectors that match something, so a sandbox without connections costs no spawn.
   */
  async killStates(addresses: SandboxAddresses, to?: string[]): Promise<void> {
    const states = await this.readStates();
    const runs: string[][] = [];
    for (const [family, address] of [['ipv4', addresses.ipv4], ['ipv6', addresses.ipv6]] as const) {
      if (to) {
        // Only connections this sandbox opened towards a withdrawn destination, one exact pair per deletion.
        const destinations = new Set(states.filter((s) => s.source === address && to.some((c) => inSubnet(s.destination, c))).map((s) => s.destination));
        for (const d of destinations) runs.push(['conntrack', '-D', '-f', family, '--orig-src', address, '--orig-dst', d]);
        continue;
      }
      if (states.some((s) => s.source === address)) runs.push(['conntrack', '-D', '-f', family, '--orig-src', address]);
      if (states.some((s) => s.destination === address)) runs.push(['conntrack', '-D', '-f', family, '--orig-dst', address]);
      if (states.some((s) => s.replySource === address && s.destination !== address)) runs.push(['conntrack', '-D', '-f', family, '--reply-src', address]);
    }
    await Promise.all(
      runs.map(async (argv) => {
        const result = await this.runner.run(argv);
        // conntrack exits 1 when nothing matched ("0 flow entries have been deleted"): fine, it raced an expiry.
        if (result.code !== 0 && !/0 flow entries/.test(result.stderr)) throw new CommandError(result);
      }),
    );
  }

  async listStates(subnets: { ipv4: string; ipv6: string }): Promise<ConnectionState[]> {
    return (await this.readStates()).filter((s) =>
      [s.source, s.destination, s.replySource].some((a) => inSubnet(a, subnets.ipv4) || inSubnet(a, subnets.ipv6)),
    );
  }

  private async readStates(): Promise<ConnectionState[]> {
    let text = await readFile('/proc/net/nf_conntrack', 'utf8').catch(() => undefined);
    if (text === undefined) {
      const [v4, v6] = await Promise.all(['ipv4', 'ipv6'].map((f) => runChecked(this.runner, ['conntrack', '-L', '-f', f])));
      text = `${v4!.stdout}\n${v6!.stdout}`;
    }
    const out: ConnectionState[] = [];
    for (const line of text.split('\n')) {
      const state = parseConntrackLine(line);
      if (state) out.push(state);
    }
    return out;
  }

  setNames(id: SandboxId): string[] {
    return sandboxSetNames(id);
  }

  async inventory(): Promise<FirewallInventory> {
    const r = await this.runner.run(['nft', '-j', 'list', 'table', 'inet', this.table]);
    if (r.code !== 0) {
      if (/No such file or directory/.test(r.stderr)) return { rootHook: false, sandboxes: [], orphanForwards: [], bindings: [] };
      throw new CommandError(r);
    }
    const inventory = parseInventory(r.stdout);
    const b = await this.runner.run(['nft', '-j', 'list', 'table', 'bridge', this.table]);
    if (b.code === 0) inventory.bindings = parseBindings(b.stdout);
    return inventory;
  }

  async removeStray(stray: { forwards: Array<PortForward & { target: string }>; bindings: Binding[] }): Promise<void> {
    let script = '';
    for (const f of stray.forwards) {
      const family = f.target.includes(':') ? 'fwd6' : 'fwd4';
      const key = `${f.protocol} . ${f.hostPort}`;
      script += `add element inet ${this.table} ${family} { ${key} : ${f.target} . ${f.sandboxPort} }\ndelete element inet ${this.table} ${family} { ${key} }\n`;
    }
    for (const b of stray.bindings) {
      const set = b.address.includes(':') ? 'src6' : 'src4';
      const el = `${JSON.stringify(b.hostInterface)} . ${b.address}`;
      script += `add element bridge ${this.table} ${set} { ${el} }\ndelete element bridge ${this.table} ${set} { ${el} }\n`;
    }
    await this.apply(script);
  }
}

/**
 * One line of `conntrack -L` ("tcp 6 431999 ESTABLISHED src=A dst=B sport=.. dport=.. src=B dst=A ...") or of
 * /proc/net/nf_conntrack (the same after "ipv4 2 "; IPv6 addresses written out in full). Addresses are normalised.
 */
export function parseConntrackLine(line: string): ConnectionState | undefined {
  let fields = line.trim().split(/\s+/);
  if (fields[0] === 'ipv4' || fields[0] === 'ipv6') fields = fields.slice(2);
  const protocol = fields[0];
  const norm = (a: string) => {
    try {
      return parseAddress(a);
    } catch {
      return a;
    }
  };
  const src = fields.filter((f) => f.startsWith('src=')).map((f) => norm(f.slice(4)));
  const dst = fields.filter((f) => f.startsWith('dst=')).map((f) => norm(f.slice(4)));
  if (!protocol || src.length < 2 || dst.length < 1) return undefined;
  return { protocol, source: src[0]!, destination: dst[0]!, replySource: src[1]! };
}

interface NftObject {
  chain?: { name: string };
  set?: { name: string };
  map?: { name: string; elem?: unknown[] };
}

export function parseInventory(json: string): FirewallInventory {
  const objects = (JSON.parse(json) as { nftables: NftObject[] }).nftables;
  const byId = new Map<string, KernelSandbox>();
  const get = (id: string): KernelSandbox => {
    let s = byId.get(id);
    if (!s) {
      s = { id: parseSandboxId(id), addresses: [], sets: [], forwards: [] };
      byId.set(id, s);
    }
    return s;
  };
  const fwd: Array<{ protocol: string; hostPort: number; target: string; port: number }> = [];
  for (const o of objects) {
    const chain = o.chain?.name.match(/^sbx-([0-9a-f]{12})$/);
    if (chain) get(chain[1]!);
    const set = o.set?.name.match(/^[adn][46]-([0-9a-f]{12})$/);
    if (set) get(set[1]!).sets.push(o.set!.name);
    if (o.map && (o.map.name === 'out4' || o.map.name === 'out6')) {
      for (const e of o.map.elem ?? []) {
        const [address, verdict] = e as [string, { jump?: { target: string } }];
        const target = verdict.jump?.target.match(/^sbx-([0-9a-f]{12})$/);
        if (target) get(target[1]!).addresses.push(address);
      }
    }
    if (o.map && (o.map.name === 'fwd4' || o.map.name === 'fwd6')) {
      for (const e of o.map.elem ?? []) {
        const [k, v] = e as [{ concat: [string, number] }, { concat: [string, number] }];
        fwd.push({ protocol: k.concat[0], hostPort: k.concat[1], target: v.concat[0], port: v.concat[1] });
      }
    }
  }
  const orphanForwards: FirewallInventory['orphanForwards'] = [];
  for (const f of fwd) {
    const owner = [...byId.values()].find((s) => s.addresses.includes(f.target));
    const forward: PortForward = { protocol: f.protocol as PortForward['protocol'], hostPort: f.hostPort, sandboxPort: f.port };
    if (owner) {
      if (!owner.forwards.some((g) => g.protocol === forward.protocol && g.hostPort === forward.hostPort)) owner.forwards.push(forward);
    } else orphanForwards.push({ ...forward, target: f.target });
  }
  return { rootHook: true, sandboxes: [...byId.values()], orphanForwards, bindings: [] };
}

export function parseBindings(json: string): Binding[] {
  const objects = (JSON.parse(json) as { nftables: NftObject[] }).nftables;
  const out: Binding[] = [];
  for (const o of objects) {
    if (o.set && (o.set.name === 'src4' || o.set.name === 'src6')) {
      for (const e of (o.set as { elem?: unknown[] }).elem ?? []) {
        const [hostInterface, address] = (e as { concat: [string, string] }).concat;
        out.push({ hostInterface, address });
      }
    }
  }
  return out;
}
