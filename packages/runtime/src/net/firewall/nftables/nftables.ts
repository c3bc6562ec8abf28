/**
 * The Linux firewall backend: one nftables `inet` table (plus a `bridge` table for anti-spoofing) named after the
 * prefix, with a fixed set of shared sets keyed by sandbox address (render.ts describes the layout), every change one
 * transaction, and conntrack for states. A change diffs the sandbox's elements before and after and sends only the
 * deletes and adds; when the kernel does not hold what the runtime believed (a delete of a missing element fails the
 * whole transaction), it reads what the kernel holds for that sandbox and retries once against that.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CommandError, runChecked, type CommandRunner } from '../../../host/command-runner.ts';
import type { AddressList, PortForward, SandboxAddresses, SandboxId, SandboxPolicy } from '../../types.ts';
import { inSubnet, parseAddress, parseCidr, parseSandboxId } from '../../validate.ts';
import {
  withdrawnMatcher,
  type Binding,
  type ConnectionState,
  type FirewallBackend,
  type FirewallInventory,
  type KernelSandbox,
  type SandboxRules,
} from '../firewall.ts';
import { HelperRunner } from '../../../host/helper-runner.ts';
import { NftSession } from './session.ts';
import { encodeListChange, SetElementWriter } from './set-element-writer.ts';
import { removeSandboxItems, sandboxItems } from './sandbox-items.ts';
import {
  describeElements,
  INTERNET_SETS,
  ipv6Integer,
  listElementChanges,
  MEMBER_SETS,
  POLICY_SETS,
  renderElementChanges,
  renderForward,
  renderInit,
  renderListChange,
  renderRemoveSandbox,
  renderSandbox,
  renderSpoofEntries,
  sandboxElements,
  type SandboxElements,
  type SandboxSpec,
} from './render.ts';

export class NftablesFirewall implements FirewallBackend {
  readonly kind = 'nftables' as const;

  private readonly session?: NftSession;
  /**
   * List changes, whole-policy loads and releases as raw netlink (set-element-writer.ts, sandbox-items.ts), when the
   * helper is built and a session is used.
   */
  private readonly elements?: SetElementWriter;
  /** Runs conntrack: through a small helper process with the persistent session (see host/helper-runner.ts). */
  private readonly states: CommandRunner;
  private readonly helper?: HelperRunner;

  constructor(
    private readonly runner: CommandRunner,
    /** The table name: the cubenet prefix. */
    readonly table: string,
    options: {
      /** Apply changes through one long-lived `nft -i` (no spawn per change) instead of `nft -f -` per change. */
      persistentSession?: boolean;
      /** With the session: the nft-set-elements binary that sends list changes as raw netlink. */
      setElementWriter?: string;
    } = {},
  ) {
    if (options.persistentSession) {
      this.session = new NftSession(table);
      this.helper = new HelperRunner(['conntrack']);
      if (options.setElementWriter) this.elements = new SetElementWriter(options.setElementWriter, 'inet', table);
    }
    this.states = this.helper ?? runner;
  }

  /** Stops the persistent nft process and the conntrack helper, if any. */
  close(): void {
    this.session?.close();
    this.elements?.close();
    this.helper?.close();
  }

  async preflight(): Promise<string[]> {
    const reasons: string[] = [];
    const probe = await this.runner
      .run(['nft', 'list', 'tables'])
      .catch((e: Error) => ({ code: -1, stderr: e.message, stdout: '' }));
    if (probe.code !== 0)
      reasons.push(
        `nftables is not usable (nft list tables: ${(probe.stderr || 'failed').trim()}); install the nftables package and run as root`,
      );
    for (const family of ['iptables', 'ip6tables']) {
      const value = await readFile(`/proc/sys/net/bridge/bridge-nf-call-${family}`, 'utf8').catch(() => undefined);
      if (value === undefined)
        reasons.push(
          `bridge netfilter is missing (/proc/sys/net/bridge/bridge-nf-call-${family} does not exist): the kernel needs br_netfilter, which cannot be loaded here`,
        );
      else if (value.trim() !== '1')
        reasons.push(
          `net.bridge.bridge-nf-call-${family} is ${value.trim()}, not 1: bridged traffic would bypass the firewall (sysctl -w net.bridge.bridge-nf-call-${family}=1)`,
        );
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

  /**
   * Applies `change` (nft text, or a list change through the element writer) made against what the runtime believes
   * the kernel holds for the sandbox, `believed`; if the kernel refuses it and holds other elements for the sandbox
   * than believed (a crash between a transaction and its state write, a hand edit), applies `render(what the kernel
   * holds)` as nft text. `believed` is computed
   * only then: the fast path of a list change never builds the elements of the whole policy.
   */
  private async applyDiff(
    addresses: SandboxAddresses,
    change: string | (() => Promise<void>),
    believed: () => SandboxElements,
    render: (held: SandboxElements) => string,
  ): Promise<void> {
    try {
      await (typeof change === 'string' ? this.apply(change) : change());
    } catch (e) {
      const held = (await this.readTable()).heldBy(addresses);
      if (sameElements(held, believed())) throw e;
      await this.apply(render(held));
    }
  }

  async init(setup: { bridge: string; ipv4Subnet: string; ipv6Subnet: string }): Promise<void> {
    // A table of the earlier layout (a chain per sandbox, hooked through the verdict map out4) goes first: its
    // sandboxes are re-applied in the shared sets by the next reconcile, since they have no member entries.
    const legacy = await this.runner.run(['nft', 'list', 'map', 'inet', this.table, 'out4']);
    const drop = legacy.code === 0 ? `delete table inet ${this.table}\n` : '';
    await this.apply(drop + renderInit({ table: this.table, ...setup }));
  }

  async destroy(): Promise<void> {
    // `add` first makes the delete idempotent.
    await this.apply(
      `add table inet ${this.table}\ndelete table inet ${this.table}\nadd table bridge ${this.table}\ndelete table bridge ${this.table}\n`,
    );
  }

  async applySandbox(rules: SandboxRules, previous?: SandboxRules): Promise<void> {
    const believed = previous ? sandboxElements(previous.addresses, previous.policy) : new Map();
    const render = (held: SandboxElements) =>
      renderSandbox(this.table, rules as SandboxSpec, held, previous as SandboxSpec | undefined);
    const elements = this.elements;
    const change = elements
      ? () =>
          elements.applyItems(
            sandboxItems(
              rules as SandboxSpec,
              believed,
              sandboxElements(rules.addresses, rules.policy),
              previous as SandboxSpec | undefined,
            ),
          )
      : render(believed);
    await this.applyDiff(rules.addresses, change, () => believed, render);
  }

  async addAddresses(
    id: SandboxId,
    list: AddressList,
    entries: string[],
    current?: { addresses: SandboxAddresses; policy: SandboxPolicy },
  ): Promise<void> {
    const now = current ?? (await this.locate(id));
    await this.changeList(now, list, [...new Set([...now.policy[list], ...entries])]);
  }

  async replaceAddresses(
    id: SandboxId,
    list: AddressList,
    entries: string[],
    current?: { addresses: SandboxAddresses; policy: SandboxPolicy },
  ): Promise<void> {
    const now = current ?? (await this.locate(id));
    await this.changeList(now, list, entries);
  }

  /** One transaction with the deletes and adds of the entries that differ (nothing at all when none does). */
  private async changeList(
    now: { addresses: SandboxAddresses; policy: SandboxPolicy },
    list: AddressList,
    entries: string[],
  ): Promise<void> {
    const elements = this.elements;
    await this.applyDiff(
      now.addresses,
      elements
        ? () => elements.applyItems(encodeListChange(now.addresses, list, now.policy[list], entries))
        : renderListChange(this.table, listElementChanges(now.addresses, list, now.policy[list], entries)),
      () => sandboxElements(now.addresses, now.policy),
      (held) =>
        renderElementChanges(this.table, held, sandboxElements(now.addresses, { ...now.policy, [list]: entries })),
    );
  }

  /** A sandbox's addresses and the policy its kernel elements amount to, read from the kernel (slow path). */
  private async locate(id: SandboxId): Promise<{ addresses: SandboxAddresses; policy: SandboxPolicy }> {
    const table = await this.readTable();
    const addresses = table.addressesOf(id);
    if (!addresses) throw new Error(`sandbox ${id} has no members4/members6 entries in table inet ${this.table}`);
    return { addresses, policy: policyOf(table.heldBy(addresses)) };
  }

  async addForward(rules: SandboxRules, forward: PortForward): Promise<void> {
    await this.apply(renderForward(this.table, rules.addresses, forward, 'present'));
  }

  async removeForward(rules: SandboxRules, forward: PortForward): Promise<void> {
    await this.apply(renderForward(this.table, rules.addresses, forward, 'absent'));
  }

  /**
   * With the policy known (a release), one transaction of deletes; without it (reconcile of a leftover, a checkout
   * undone before its record existed), the sandbox's elements are read from the kernel first.
   */
  async removeSandbox(
    id: SandboxId,
    known?: Omit<SandboxRules, 'id' | 'policy'> & { policy?: SandboxPolicy },
  ): Promise<void> {
    if (known?.policy) {
      const k = known as typeof known & { policy: SandboxPolicy };
      const believed = sandboxElements(k.addresses, k.policy);
      const render = (held: SandboxElements) => renderRemoveSandbox(this.table, id, k, held);
      const elements = this.elements;
      const change = elements ? () => elements.applyItems(removeSandboxItems(id, k, believed)) : render(believed);
      await this.applyDiff(k.addresses, change, () => believed, render);
      return;
    }
    const table = await this.readTable();
    // Whatever the kernel has of it, even half a sandbox (one member entry of two).
    const members = [...table.members].filter(([, owner]) => owner === id).map(([a]) => a);
    const sources = [...new Set([...members, ...(known ? [known.addresses.ipv4, known.addresses.ipv6] : [])])];
    let script = members
      .map((a) => `delete element inet ${this.table} ${MEMBER_SETS[a.includes(':') ? 'ipv6' : 'ipv4']} { ${a} }\n`)
      .join('');
    script += renderElementChanges(this.table, table.heldBy(sources), new Map());
    if (known) {
      for (const f of known.forwards) script += renderForward(this.table, known.addresses, f, 'absent');
      if (known.hostInterface) script += renderSpoofEntries(this.table, known.hostInterface, known.addresses, 'absent');
    }
    await this.apply(script);
  }

  /**
   * Reads the connection table once (from /proc/net/nf_conntrack when the kernel offers it: no process at all) and
   * runs `conntrack -D` only for the selectors that match something, so a sandbox without connections costs no spawn.
   */
  async killStates(addresses: SandboxAddresses, to?: string[]): Promise<void> {
    const states = (await this.readStates()).filter((s) =>
      [addresses.ipv4, addresses.ipv6].some((a) => a === s.source || a === s.destination || a === s.replySource),
    );
    if (!states.length) return; // the usual case: nothing to look up in a list of withdrawn destinations
    const runs: string[][] = [];
    const withdrawn = withdrawnMatcher(to ?? []);
    for (const [family, address] of [
      ['ipv4', addresses.ipv4],
      ['ipv6', addresses.ipv6],
    ] as const) {
      if (to) {
        // Only connections this sandbox opened towards a withdrawn destination, one exact pair per deletion.
        const destinations = new Set(
          states.filter((s) => s.source === address && withdrawn(s.destination)).map((s) => s.destination),
        );
        for (const d of destinations)
          runs.push(['conntrack', '-D', '-f', family, '--orig-src', address, '--orig-dst', d]);
        continue;
      }
      if (states.some((s) => s.source === address)) runs.push(['conntrack', '-D', '-f', family, '--orig-src', address]);
      if (states.some((s) => s.destination === address))
        runs.push(['conntrack', '-D', '-f', family, '--orig-dst', address]);
      if (states.some((s) => s.replySource === address && s.destination !== address))
        runs.push(['conntrack', '-D', '-f', family, '--reply-src', address]);
    }
    await Promise.all(
      runs.map(async (argv) => {
        const result = await this.states.run(argv);
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
    let text = await readConntrackTable();
    if (text === undefined) {
      const [v4, v6] = await Promise.all(
        ['ipv4', 'ipv6'].map((f) => runChecked(this.states, ['conntrack', '-L', '-f', f])),
      );
      text = `${v4!.stdout}\n${v6!.stdout}`;
    }
    const out: ConnectionState[] = [];
    for (const line of text.split('\n')) {
      const state = parseConntrackLine(line);
      if (state) out.push(state);
    }
    return out;
  }

  /** The elements an applied sandbox holds (audit compares them with KernelSandbox.sets). */
  setNames(_id: SandboxId, rules?: SandboxRules): string[] {
    return rules ? describeElements(sandboxElements(rules.addresses, rules.policy)) : [];
  }

  private async readTable(): Promise<KernelTable> {
    return parseTable((await runChecked(this.runner, ['nft', '-j', 'list', 'table', 'inet', this.table])).stdout);
  }

  async inventory(): Promise<FirewallInventory> {
    const r = await this.runner.run(['nft', '-j', 'list', 'table', 'inet', this.table]);
    if (r.code !== 0) {
      if (/No such file or directory/.test(r.stderr))
        return { rootHook: false, sandboxes: [], orphanForwards: [], bindings: [], strayEntries: [] };
      throw new CommandError(r);
    }
    const inventory = parseInventory(r.stdout);
    const b = await this.runner.run(['nft', '-j', 'list', 'table', 'bridge', this.table]);
    if (b.code === 0) inventory.bindings = parseBindings(b.stdout);
    return inventory;
  }

  async removeStray(stray: {
    forwards: Array<PortForward & { target: string }>;
    bindings: Binding[];
    entries?: string[];
  }): Promise<void> {
    let script = '';
    for (const f of stray.forwards) {
      const family = f.target.includes(':') ? 'fwd6' : 'fwd4';
      const key = `${f.protocol} . ${f.hostPort}`;
      script += `add element inet ${this.table} ${family} { ${key} : ${f.target} . ${f.sandboxPort} }\ndelete element inet ${this.table} ${family} { ${key} }\n`;
    }
    for (const b of stray.bindings) {
      const i = JSON.stringify(b.hostInterface);
      const els = b.address.includes(':')
        ? [
            ['src6', `${i} . ${b.address}`],
            ['nd6', `${i} . ${ipv6Integer(b.address)}`],
          ]
        : [['src4', `${i} . ${b.address}`]];
      for (const [set, el] of els)
        script += `add element bridge ${this.table} ${set} { ${el} }\ndelete element bridge ${this.table} ${set} { ${el} }\n`;
    }
    for (const entry of stray.entries ?? []) {
      const { set, key } = parseEntry(entry);
      script += `add element inet ${this.table} ${set} { ${key} }\ndelete element inet ${this.table} ${set} { ${key} }\n`;
    }
    await this.apply(script);
  }
}

/** Up to this many connections, /proc/net/nf_conntrack is read on the event loop (see readConntrackTable). */
const SYNC_CONNTRACK_READ_MAX = 1000;

/**
 * /proc/net/nf_conntrack's text, or undefined when the kernel does not offer it. A small table (the usual case; its
 * size is the nf_conntrack_count sysctl) is read synchronously: the kernel's walk costs ~0.2 ms per thousand
 * entries, less than the four thread-pool hops of an asynchronous read (~1 ms on a loaded 2-vCPU host), and it is
 * on the critical path of every change that withdraws access. A large table is read through the thread pool so
 * the event loop is not held for its walk. An empty one is not read at all: the walk covers every bucket of the
 * hash however few entries there are, and the count is taken after the change's transaction, so a connection
 * opened later is already under the new rules.
 */
async function readConntrackTable(): Promise<string | undefined> {
  let count = Infinity;
  try {
    count = Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_count', 'utf8'));
  } catch {
    // no count to go by: read asynchronously
  }
  if (count === 0) return '';
  if (count <= SYNC_CONNTRACK_READ_MAX) {
    try {
      return readFileSync('/proc/net/nf_conntrack', 'utf8');
    } catch {
      return undefined;
    }
  }
  return readFile('/proc/net/nf_conntrack', 'utf8').catch(() => undefined);
}

function sameElements(a: SandboxElements, b: SandboxElements): boolean {
  const flat = (m: SandboxElements) => describeElements(m).join('\n');
  return flat(a) === flat(b);
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
  set?: { name: string; elem?: unknown[] };
  map?: { name: string; elem?: unknown[] };
}

/** The inet table as this backend reads it back: who is a member, and every sandbox-keyed element by its source. */
export interface KernelTable {
  /** members4/members6: address → sandbox id (from the element's "sbx-<id>" comment). */
  members: Map<string, SandboxId>;
  /** Elements of the policy and internet sets, by their source (sandbox) address. */
  elements: Map<string, SandboxElements>;
  forwards: Array<{ protocol: string; hostPort: number; target: string; port: number }>;
  /** Member elements without a readable sandbox id (nobody made them through this backend). */
  anonymousMembers: string[];
  /** The table has this layout's member sets (a table of an earlier layout has not). */
  layout: boolean;
  addressesOf(id: SandboxId): SandboxAddresses | undefined;
  /** The elements keyed by these sandbox addresses. */
  heldBy(a: SandboxAddresses | readonly string[]): SandboxElements;
}

const norm = (a: string) => parseAddress(a);

/** A destination as the sets print it: an address, {prefix: {addr, len}} or {range: [a, b]}. */
function destinationText(d: unknown): string {
  if (typeof d === 'string') return norm(d);
  const prefix = (d as { prefix?: { addr: string; len: number } }).prefix;
  if (prefix) return parseCidr(`${prefix.addr}/${prefix.len}`).text;
  const range = (d as { range?: [string, string] }).range;
  if (range) return `${norm(range[0])}-${norm(range[1])}`;
  throw new Error(`unreadable set element ${JSON.stringify(d)}`);
}

export function parseTable(json: string): KernelTable {
  const objects = (JSON.parse(json) as { nftables: NftObject[] }).nftables;
  const members = new Map<string, SandboxId>();
  const anonymousMembers: string[] = [];
  const elements = new Map<string, SandboxElements>();
  const forwards: KernelTable['forwards'] = [];
  const put = (source: string, set: string, key: string) => {
    let m = elements.get(source);
    if (!m) elements.set(source, (m = new Map()));
    let keys = m.get(set);
    if (!keys) m.set(set, (keys = new Set()));
    keys.add(key);
  };
  const memberSets = new Set<string>(Object.values(MEMBER_SETS));
  const internetSets = new Set<string>(Object.values(INTERNET_SETS));
  const policySets = new Set(POLICY_SETS);
  let layout = false;
  for (const o of objects) {
    const set = o.set;
    if (set?.name === MEMBER_SETS.ipv4) layout = true;
    if (set && memberSets.has(set.name)) {
      for (const e of set.elem ?? []) {
        const el = (e as { elem?: { val: string; comment?: string } }).elem;
        const address = norm(el ? el.val : (e as string));
        const id = el?.comment?.match(/^sbx-([0-9a-f]{12})$/)?.[1];
        if (id) members.set(address, parseSandboxId(id));
        else anonymousMembers.push(`${set.name} { ${address} }`);
      }
    } else if (set && internetSets.has(set.name)) {
      for (const e of set.elem ?? []) {
        const address = norm(typeof e === 'string' ? e : (e as { elem: { val: string } }).elem.val);
        put(address, set.name, address);
      }
    } else if (set && policySets.has(set.name)) {
      for (const e of set.elem ?? []) {
        const concat = ((e as { elem?: { val: unknown } }).elem?.val ?? e) as { concat: [string, unknown] };
        const source = norm(concat.concat[0]);
        put(source, set.name, `${source} . ${destinationText(concat.concat[1])}`);
      }
    }
    if (o.map && (o.map.name === 'fwd4' || o.map.name === 'fwd6')) {
      for (const e of o.map.elem ?? []) {
        const [k, v] = e as [{ concat: [string, number] }, { concat: [string, number] }];
        forwards.push({ protocol: k.concat[0], hostPort: k.concat[1], target: norm(v.concat[0]), port: v.concat[1] });
      }
    }
  }
  return {
    members,
    elements,
    forwards,
    anonymousMembers,
    layout,
    addressesOf(id) {
      const mine = [...members].filter(([, owner]) => owner === id).map(([a]) => a);
      const ipv4 = mine.find((a) => !a.includes(':'));
      const ipv6 = mine.find((a) => a.includes(':'));
      return ipv4 && ipv6 ? { ipv4, ipv6 } : undefined;
    },
    heldBy(a) {
      const out: SandboxElements = new Map();
      for (const source of isAddressList(a) ? a : [a.ipv4, a.ipv6]) {
        for (const [set, keys] of elements.get(source) ?? []) out.set(set, new Set([...(out.get(set) ?? []), ...keys]));
      }
      return out;
    },
  };
}

/** The policy a sandbox's elements amount to (CIDRs nested in another of the same list are not there to find). */
export function policyOf(held: SandboxElements): SandboxPolicy {
  const policy: SandboxPolicy = { allowOut: [], denyOut: [], dnsAllow: [], allowInternetAccess: false };
  const lists: Record<string, AddressList> = { allow: 'allowOut', deny: 'denyOut', dns: 'dnsAllow' };
  for (const [set, keys] of held) {
    if (set.startsWith('internet')) policy.allowInternetAccess ||= keys.size > 0;
    const list = lists[set.replace(/[46](net_\d+)?$/, '')];
    if (list) for (const k of keys) policy[list].push(k.split(' . ')[1]!);
  }
  return policy;
}

/** A sandbox's record in the inventory: one per member id, with the elements its addresses hold. */
export function parseInventory(json: string): FirewallInventory {
  const table = parseTable(json);
  const byId = new Map<SandboxId, KernelSandbox>();
  for (const [address, id] of table.members) {
    let s = byId.get(id);
    if (!s) byId.set(id, (s = { id, addresses: [], sets: [], forwards: [] }));
    s.addresses.push(address);
  }
  const owned = new Set(table.members.keys());
  for (const s of byId.values()) {
    const held: SandboxElements = new Map();
    for (const a of s.addresses)
      for (const [set, keys] of table.elements.get(a) ?? [])
        held.set(set, new Set([...(held.get(set) ?? []), ...keys]));
    s.sets = describeElements(held);
  }
  const strayEntries = [...table.anonymousMembers];
  for (const [source, held] of table.elements) if (!owned.has(source)) strayEntries.push(...describeElements(held));
  const orphanForwards: FirewallInventory['orphanForwards'] = [];
  for (const f of table.forwards) {
    const owner = table.members.get(f.target);
    const forward: PortForward = {
      protocol: f.protocol as PortForward['protocol'],
      hostPort: f.hostPort,
      sandboxPort: f.port,
    };
    const s = owner && byId.get(owner);
    if (s) {
      if (!s.forwards.some((g) => g.protocol === forward.protocol && g.hostPort === forward.hostPort))
        s.forwards.push(forward);
    } else orphanForwards.push({ ...forward, target: f.target });
  }
  // Without the member sets the table is not (yet) of this layout: no hook to re-apply sandboxes into until init.
  return { rootHook: table.layout, sandboxes: [...byId.values()], orphanForwards, bindings: [], strayEntries };
}

/** An entry as describeElements wrote it, checked again before it goes back into a rule (it came from the kernel). */
export function parseEntry(entry: string): { set: string; key: string } {
  const m = entry.match(/^([a-z0-9_]+) \{ ([0-9a-fA-F.:/ -]+) \}$/);
  const known = new Set<string>([...POLICY_SETS, ...Object.values(INTERNET_SETS), ...Object.values(MEMBER_SETS)]);
  if (!m || !known.has(m[1]!)) throw new Error(`not an element of this backend: ${JSON.stringify(entry)}`);
  const parts = m[2]!.split(' . ');
  if (parts.length > 2) throw new Error(`not an element of this backend: ${JSON.stringify(entry)}`);
  for (const p of parts) for (const end of p.split('-')) parseCidr(end);
  return { set: m[1]!, key: m[2]! };
}

/** Anti-spoof bindings: src4/src6 (ifname . address) and nd6 (ifname . the address as a 128-bit integer). */
export function parseBindings(json: string): Binding[] {
  const objects = (JSON.parse(json) as { nftables: NftObject[] }).nftables;
  const out = new Map<string, Binding>();
  for (const o of objects) {
    if (!o.set || !['src4', 'src6', 'nd6'].includes(o.set.name)) continue;
    for (const e of o.set.elem ?? []) {
      const [hostInterface, value] = (e as { concat: [string, string] }).concat;
      const address = o.set.name === 'nd6' ? ipv6FromInteger(value) : norm(value);
      out.set(`${hostInterface} ${address}`, { hostInterface, address });
    }
  }
  return [...out.values()];
}

function ipv6FromInteger(hex: string): string {
  const digits = hex.replace(/^0x/, '').padStart(32, '0');
  return norm(digits.match(/.{4}/g)!.join(':'));
}

function isAddressList(a: SandboxAddresses | readonly string[]): a is readonly string[] {
  return Array.isArray(a);
}
