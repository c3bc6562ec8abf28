/**
 * The pf firewall backend (FreeBSD): one anchor per sandbox under the root anchor (`cube/sandbox-<id>`), loaded
 * whole with `pfctl -a ANCHOR -f -` (one transaction), its address lists changed with `-T add|replace -f -` (one
 * ioctl for the whole list), states killed with `pfctl -k`. Rule text comes from render.ts, output is read with
 * parse.ts; nothing here builds a shell command.
 */
import { CommandError, type CommandRunner, runChecked } from '../../../host/command-runner.ts';
import { endpointGroup } from '../../endpoint/freebsd/names.ts';
import type { DummynetPipes } from '../../rate-limit/dummynet.ts';
import type { AddressList, PortForward, SandboxAddresses, SandboxId } from '../../types.ts';
import { inSubnet, parseAddressListName } from '../../validate.ts';
import {
  withdrawnMatcher,
  type Binding,
  type ConnectionState,
  type FirewallBackend,
  type FirewallInventory,
  type KernelSandbox,
  type SandboxRules,
} from '../firewall.ts';
import { parseAnchors, parseRules, parseStates, parseTableNames, portNumber, type PfRuleLine } from './parse.ts';
import { pfPreflight } from './preflight.ts';
import {
  DEFAULT_ANCHOR_ROOT,
  SANDBOX_TABLES,
  TABLES,
  anchorPath,
  idFromAnchor,
  renderAddressList,
  renderRootRuleset,
  renderSandboxAnchor,
  sandboxLabel,
} from './render.ts';

export interface PfFirewallOptions {
  /** Root anchor the sandboxes' anchors live under (default "cube": anchors `cube/sandbox-<id>`). */
  anchorRoot?: string;
  /** Interface egress NAT translates to (`nat on IF ... -> (IF)`); without it the root hook has no NAT. */
  egressInterface?: string;
  /** How many sandboxes may exist at once: preflight checks `set limit anchors` and table-entries against it. */
  maxSandboxes?: number;
  /** Pipe numbering of the rate limiter: a rule set for a rate-limited sandbox sends its egress to its pipe. */
  pipes?: DummynetPipes;
}

/** Thrown when the main ruleset holds other rules and no hook: cubenet will not replace the operator's pf.conf. */
export class PfRootHookError extends Error {
  constructor(hook: string) {
    super(
      `pf's main ruleset has rules but no cubenet hook; add these lines to /etc/pf.conf (translation rules before ` +
        `filter rules) and reload it with \`pfctl -f /etc/pf.conf\`:\n${hook}`,
    );
    this.name = 'PfRootHookError';
  }
}

export class PfFirewall implements FirewallBackend {
  readonly kind = 'pf' as const;
  private readonly root: string;
  private setup?: { ipv4Subnet: string; ipv6Subnet: string };
  /** Sandbox of each address applied by this instance (state kills by label need the id). */
  private readonly owners = new Map<string, SandboxId>();

  constructor(
    private readonly runner: CommandRunner,
    private readonly prefix: string,
    private readonly options: PfFirewallOptions = {},
  ) {
    this.root = options.anchorRoot ?? DEFAULT_ANCHOR_ROOT;
    if (!/^[a-z][a-z0-9_-]{0,30}$/.test(this.root))
      throw new Error(`invalid pf anchor root ${JSON.stringify(this.root)}`);
  }

  preflight(): Promise<string[]> {
    return pfPreflight(this.runner, { maxSandboxes: this.options.maxSandboxes ?? 0 });
  }

  private hookLines(): string {
    return renderRootRuleset({
      anchorRoot: this.root,
      endpointGroup: endpointGroup(this.prefix),
      ipv4Subnet: this.setup?.ipv4Subnet ?? '0.0.0.0/0',
      ipv6Subnet: this.setup?.ipv6Subnet ?? '::/0',
      ...(this.options.egressInterface ? { egressInterface: this.options.egressInterface } : {}),
    });
  }

  async init(setup: {
    bridge: string;
    ipv4Subnet: string;
    ipv6Subnet: string;
    gateway: SandboxAddresses;
  }): Promise<void> {
    this.setup = { ipv4Subnet: setup.ipv4Subnet, ipv6Subnet: setup.ipv6Subnet };
    const main = parseRules((await runChecked(this.runner, ['pfctl', '-sr'])).stdout);
    if (this.hasHook(main)) return;
    const nat = parseRules((await runChecked(this.runner, ['pfctl', '-sn'])).stdout);
    if (main.length > 0 || nat.length > 0) throw new PfRootHookError(this.hookLines());
    // An empty main ruleset (a host dedicated to sandboxes): load the hook as the whole main ruleset.
    await runChecked(this.runner, ['pfctl', '-f', '-'], { input: this.hookLines() });
  }

  async destroy(): Promise<void> {
    for (const { path } of await this.ownAnchors()) await runChecked(this.runner, ['pfctl', '-a', path, '-F', 'all']);
    const main = parseRules((await runChecked(this.runner, ['pfctl', '-sr'])).stdout);
    const nat = parseRules((await runChecked(this.runner, ['pfctl', '-sn'])).stdout);
    const ours = main.length === 3 && this.hasHook(main);
    const oursNat = nat.every((r) => r.action === 'nat' && r.interface === this.options.egressInterface);
    // Only a main ruleset that is nothing but our hook is flushed; an operator's pf.conf is left alone.
    if (ours && oursNat) {
      await runChecked(this.runner, ['pfctl', '-F', 'rules']);
      if (nat.length > 0) await runChecked(this.runner, ['pfctl', '-F', 'nat']);
    }
  }

  /** The main ruleset calls our anchors and drops what they do not pass for our endpoint group. */
  private hasHook(main: ReturnType<typeof parseRules>): boolean {
    const group = endpointGroup(this.prefix);
    const anchorAt = main.findIndex((r) => r.action === 'anchor' && r.anchor === `${this.root}/*`);
    const blocks = (dir: 'in' | 'out') =>
      main.findIndex(
        (r, i) =>
          i > anchorAt &&
          r.action === 'block' &&
          r.quick &&
          r.direction === dir &&
          r.interface === group &&
          !r.interfaceNegated &&
          r.from === 'any' &&
          r.to === 'any',
      );
    return anchorAt >= 0 && blocks('in') > anchorAt && blocks('out') > anchorAt;
  }

  private spec(rules: SandboxRules) {
    return {
      id: rules.id,
      addresses: rules.addresses,
      policy: rules.policy,
      forwards: rules.forwards,
      endpointGroup: endpointGroup(this.prefix),
      tag: passTag(this.prefix),
      ipv4Subnet: this.setup?.ipv4Subnet ?? rules.addresses.ipv4,
      ipv6Subnet: this.setup?.ipv6Subnet ?? rules.addresses.ipv6,
      ...(rules.hostInterface ? { hostInterface: rules.hostInterface } : {}),
      ...(rules.rateLimit ? { dnpipe: this.pipeOf(rules.rateLimit.slot) } : {}),
    };
  }

  private pipeOf(slot: number): number {
    if (!this.options.pipes)
      throw new Error('this pf backend has no dummynet pipes configured: rate limits are unavailable');
    return this.options.pipes.pipeOf(slot);
  }

  private async load(rules: SandboxRules): Promise<void> {
    await runChecked(this.runner, ['pfctl', '-a', anchorPath(this.root, rules.id), '-f', '-'], {
      input: renderSandboxAnchor(this.spec(rules)),
    });
    this.owners.set(rules.addresses.ipv4, rules.id);
    this.owners.set(rules.addresses.ipv6, rules.id);
  }

  async applySandbox(rules: SandboxRules, _previous?: SandboxRules): Promise<void> {
    // The anchor is replaced whole: forwards or an interface the previous apply had and this one lacks are gone.
    await this.load(rules);
  }

  async addAddresses(id: SandboxId, list: AddressList, entries: string[]): Promise<void> {
    await runChecked(
      this.runner,
      ['pfctl', '-a', anchorPath(this.root, id), '-t', TABLES[parseAddressListName(list)], '-T', 'add', '-f', '-'],
      {
        input: renderAddressList(entries),
      },
    );
  }

  async replaceAddresses(id: SandboxId, list: AddressList, entries: string[]): Promise<void> {
    await runChecked(
      this.runner,
      ['pfctl', '-a', anchorPath(this.root, id), '-t', TABLES[parseAddressListName(list)], '-T', 'replace', '-f', '-'],
      {
        input: renderAddressList(entries),
      },
    );
  }

  async addForward(rules: SandboxRules, forward: PortForward): Promise<void> {
    await this.load({ ...rules, forwards: [...rules.forwards.filter((f) => !sameKey(f, forward)), forward] });
  }

  async removeForward(rules: SandboxRules, forward: PortForward): Promise<void> {
    await this.load({ ...rules, forwards: rules.forwards.filter((f) => !sameKey(f, forward)) });
  }

  async removeSandbox(id: SandboxId, known?: Omit<SandboxRules, 'id' | 'policy'>): Promise<void> {
    // Flushing rules and tables makes pf drop the (now empty) anchor; flushing a missing anchor is a no-op.
    await runChecked(this.runner, ['pfctl', '-a', anchorPath(this.root, id), '-F', 'all']);
    if (known) {
      this.owners.delete(known.addresses.ipv4);
      this.owners.delete(known.addresses.ipv6);
    }
  }

  async killStates(addresses: SandboxAddresses, to?: string[]): Promise<void> {
    if (to) {
      // Only connections the sandbox opened towards a withdrawn destination: one `-k source -k destination` per
      // destination that has a state (read once with -ss), as the Linux backend does with conntrack.
      const withdrawn = withdrawnMatcher(to);
      const pairs = new Set<string>();
      for (const s of parseStates((await runChecked(this.runner, ['pfctl', '-ss'])).stdout)) {
        const from = s.source.address;
        if ((from === addresses.ipv4 || from === addresses.ipv6) && withdrawn(s.destination.address))
          pairs.add(`${from} ${s.destination.address}`);
      }
      await Promise.all(
        [...pairs].map((p) => runChecked(this.runner, ['pfctl', '-k', p.split(' ')[0]!, '-k', p.split(' ')[1]!])),
      );
      return;
    }
    const runs: string[][] = [
      ['pfctl', '-k', addresses.ipv4],
      ['pfctl', '-k', '0.0.0.0/0', '-k', addresses.ipv4],
      ['pfctl', '-k', addresses.ipv6],
      ['pfctl', '-k', '::/0', '-k', addresses.ipv6],
    ];
    // States created through a forward carry the host's address as destination; the label catches them.
    const id = this.owners.get(addresses.ipv4) ?? this.owners.get(addresses.ipv6);
    if (id) runs.push(['pfctl', '-k', 'label', '-k', sandboxLabel(id)]);
    // Independent kills: run them together (each is a short pfctl process; the kernel work is tiny).
    await Promise.all(runs.map((argv) => runChecked(this.runner, argv)));
  }

  async listStates(subnets: { ipv4: string; ipv6: string }): Promise<ConnectionState[]> {
    const r = await runChecked(this.runner, ['pfctl', '-ss']);
    const inside = (a: string) => inSubnet(a, subnets.ipv4) || inSubnet(a, subnets.ipv6);
    return parseStates(r.stdout)
      .filter((s) => inside(s.source.address) || inside(s.destination.address) || inside(s.target.address))
      .map((s) => ({
        source: s.source.address,
        destination: s.destination.address,
        replySource: s.target.address,
        protocol: s.protocol,
      }));
  }

  setNames(_id: SandboxId): string[] {
    return [...SANDBOX_TABLES];
  }

  /**
   * The sandbox anchors of this prefix with their rules. Anchor names carry no prefix (`cube/sandbox-<id>`, shared by
   * every prefix on the host under the same root), but every rule set cubenet loads tags what it passes with the
   * prefix's tag (passTag): an anchor none of whose rules carries it belongs to another prefix (or to someone else)
   * and is neither listed, reconciled nor flushed by this one.
   */
  private async ownAnchors(): Promise<Array<{ path: string; id: SandboxId; rules: PfRuleLine[] }>> {
    const tag = passTag(this.prefix);
    const out: Array<{ path: string; id: SandboxId; rules: PfRuleLine[] }> = [];
    for (const path of await this.anchors()) {
      const id = idFromAnchor(this.root, path);
      if (!id) continue;
      const rules = parseRules((await runChecked(this.runner, ['pfctl', '-a', path, '-sr'])).stdout);
      if (rules.some((r) => r.tag === tag || r.tagged === tag)) out.push({ path, id, rules });
    }
    return out;
  }

  private async anchors(): Promise<string[]> {
    const r = await this.runner.run(['pfctl', '-a', this.root, '-sA']);
    if (r.code !== 0) {
      if (/Anchor '.*' not found|Anchor does not exist/.test(r.stderr)) return [];
      throw new CommandError(r);
    }
    return parseAnchors(r.stdout).filter((p) => p.startsWith(`${this.root}/`));
  }

  async inventory(): Promise<FirewallInventory> {
    const main = parseRules((await runChecked(this.runner, ['pfctl', '-sr'])).stdout);
    const rootHook = this.hasHook(main);
    const sandboxes: KernelSandbox[] = [];
    const bindings: Binding[] = [];
    for (const { path, id, rules } of await this.ownAnchors()) {
      const sets = parseTableNames((await runChecked(this.runner, ['pfctl', '-a', path, '-sT'])).stdout);
      const addresses = new Set<string>();
      const forwards = new Map<string, PortForward>();
      for (const r of rules) {
        const single = r.from !== '::' && /^[0-9a-fA-F:.]+$/.test(r.from);
        if (r.direction === 'in' && single && r.rdrTo === undefined) {
          addresses.add(r.from);
          if (r.interface && !r.interfaceNegated) bindings.push({ hostInterface: r.interface, address: r.from });
        }
        const hostPort = portNumber(r.toPort);
        if (r.rdrTo?.port !== undefined && hostPort !== undefined && (r.protocol === 'tcp' || r.protocol === 'udp')) {
          forwards.set(`${r.protocol}/${hostPort}`, { protocol: r.protocol, hostPort, sandboxPort: r.rdrTo.port });
        }
      }
      sandboxes.push({ id, addresses: [...addresses], sets, forwards: [...forwards.values()] });
    }
    const unique = new Map(bindings.map((b) => [`${b.hostInterface} ${b.address}`, b]));
    return { rootHook, sandboxes, orphanForwards: [], bindings: [...unique.values()] };
  }

  async removeStray(_stray: { forwards: Array<PortForward & { target: string }>; bindings: Binding[] }): Promise<void> {
    // Forwards and anti-spoof bindings live inside the sandbox anchors, so they go with removeSandbox; none can be stray.
  }
}

/** The pf tag of traffic a cubenet rule let in. */
export function passTag(prefix: string): string {
  return `${prefix}_pass`;
}

function sameKey(a: PortForward, b: PortForward): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort;
}
