/**
 * cubenet: per-sandbox networking. Hands out sandboxes (addresses + an endpoint on the bridge + a firewall policy),
 * changes their policy and forwards, releases them, and compares its belief with the kernel (audit, reconcile).
 *
 * Fast paths. Idle endpoints are kept warm *with their addresses already configured* (an address with no firewall
 * hook can send nothing: anti-spoofing drops it and the forward/input chains drop unknown sources), so a checkout
 * from the idle pool is one firewall transaction plus one small state file. A release removes the firewall hook
 * (after that, no new connection can start) and the state file, then returns; killing the states and recycling or
 * destroying the endpoint run in the background, and the addresses become allocatable only after the states are
 * gone. `settle()` waits for that background work.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { CommandRunner } from '../host/command-runner.ts';
import type { Endpoint, EndpointProvider, BridgeSetup } from './endpoint/endpoint.ts';
import type { FirewallBackend, FirewallInventory, SandboxRules } from './firewall/firewall.ts';
import { withdrawnDestinations } from './firewall/firewall.ts';
import { Ipam, parseSubnets } from './ipam.ts';
import { parseRateLimit, type RateLimit, type RateLimiter, type RateLimitTarget } from './rate-limit/rate-limit.ts';
import { acquireLock } from './lock.ts';
import { StateStore, type SandboxRecord } from './state.ts';
import {
  DEFAULT_POLICY,
  type AddressList,
  type EndpointKind,
  type InterfaceName,
  type NetConfig,
  type PortForward,
  type SandboxAddresses,
  type SandboxId,
  type SandboxPolicy,
} from './types.ts';
import {
  NetInputError,
  parseAddressList,
  parseAddressListName,
  parseForward,
  parseInterfaceName,
  parsePolicy,
  parsePrefix,
  parseSandboxId,
} from './validate.ts';

/** Where controller locks live: one per prefix for the whole host, whatever state folder each controller uses. */
export const DEFAULT_LOCK_DIR = '/run/coppice/net';

export class NetPrerequisiteError extends Error {
  constructor(readonly reasons: string[]) {
    super(`cubenet cannot run on this host:\n  - ${reasons.join('\n  - ')}`);
    this.name = 'NetPrerequisiteError';
  }
}

export class UnknownSandboxError extends Error {
  constructor(readonly id: string) {
    super(`no such sandbox: ${id}`);
    this.name = 'UnknownSandboxError';
  }
}

export interface Sandbox {
  id: SandboxId;
  addresses: SandboxAddresses;
  endpoint: Endpoint;
  policy: SandboxPolicy;
  forwards: PortForward[];
  createdAt: string;
  rateLimit?: RateLimit;
}

export interface CheckoutOptions {
  kind?: EndpointKind;
  policy?: unknown;
  forwards?: unknown[];
  /** Choose the id (12 hex) instead of a random one. */
  id?: unknown;
  /** Egress limit in force from the sandbox's first packet (`{ egressMbit }`, as setRateLimit). */
  rateLimit?: unknown;
}

export interface AuditReport {
  ok: boolean;
  believed: { sandboxes: number; idleEndpoints: number };
  kernel: { rootHook: boolean; chains: number; endpoints: number; states: number };
  leaks: {
    endpoints: string[];
    chains: string[];
    sets: string[];
    forwards: string[];
    bindings: string[];
    /** Connection states touching an address no active sandbox owns. */
    states: string[];
    /** Rate-limit objects (ifb/tbf, ingress redirects, dummynet pipes) no limited sandbox owns (with a rate limiter). */
    rateLimits?: string[];
  };
  missing: { endpoints: string[]; chains: string[]; sets: string[]; forwards: string[]; rateLimits?: string[] };
}

export interface ReconcileReport {
  removedChains: string[];
  removedEndpoints: string[];
  removedStray: number;
  killedStatesOf: string[];
  reappliedPolicies: string[];
  droppedSandboxes: string[];
  stateProblems: string[];
  /** Rate-limit objects removed (no limited sandbox owned them) or re-applied (with a rate limiter). */
  removedRateLimits?: string[];
  reappliedRateLimits?: string[];
}

/** Host-wide IP forwarding (FreeBSD: the forwarding sysctls), set at init and put back at teardown. */
export interface HostForwarding {
  /** Turns forwarding on where it is off, remembering what it found. Idempotent. */
  enable(): Promise<void>;
  /** Puts back what enable() found (a no-op if it changed nothing). */
  restore(): Promise<void>;
}

interface IdleEndpoint {
  endpoint: Endpoint;
  host: number;
}

export interface CubenetOptions {
  config: NetConfig;
  runner: CommandRunner;
  firewall: FirewallBackend;
  endpoints: EndpointProvider;
  /** Idle endpoints kept warm per kind (refilled in the background). Default 0. */
  spares?: Partial<Record<EndpointKind, number>>;
  /** Most idle endpoints kept per kind after releases (beyond it they are destroyed). Default max(spares, 8). */
  maxIdle?: number;
  /** Reconcile on open (default true). */
  reconcile?: boolean;
  /**
   * Whether the platform's opener gives this controller a `forwarding` (IPv4/IPv6 forwarding turned on at init, for
   * forwards and egress, and put back at teardown). Default true.
   */
  enableForwarding?: boolean;
  /** Per-sandbox egress limits (setRateLimit); without one, setRateLimit refuses. */
  rateLimiter?: RateLimiter;
  /** Replaces the Linux /proc writes of `enableForwarding` (FreeBSD: sysctl), and is restored at teardown. */
  forwarding?: HostForwarding;
  /** Called with errors of background work (teardown, refills); they also stay in `backgroundErrors`. */
  onBackgroundError?: (error: Error) => void;
}

export class Cubenet {
  readonly prefix: string;
  readonly bridge: InterfaceName;
  readonly ipam: Ipam;
  readonly setup: BridgeSetup;
  readonly backgroundErrors: Error[] = [];
  private readonly sandboxes = new Map<SandboxId, SandboxRecord>();
  private readonly idle: Record<EndpointKind, IdleEndpoint[]> = { tap: [], isolated: [] };
  private readonly background = new Set<Promise<void>>();
  private readonly busy = new Map<SandboxId, Promise<unknown>>();
  private readonly refilling: Record<EndpointKind, number> = { tap: 0, isolated: 0 };
  /** When the last foreground call (checkout, release, a policy or forward change) started or ended. */
  private lastForeground = 0;
  private readonly store: StateStore;
  private closed = false;
  lastReconcile?: ReconcileReport;

  private constructor(
    private readonly opts: CubenetOptions,
    private readonly unlock: () => Promise<void>,
  ) {
    const c = opts.config;
    this.prefix = parsePrefix(c.prefix);
    this.bridge = parseInterfaceName(`${this.prefix}-br`);
    this.ipam = new Ipam(parseSubnets(c.ipv4Subnet, c.ipv6Subnet), c.allocatable);
    this.setup = {
      bridge: this.bridge,
      gateway: this.ipam.gateway,
      ipv4PrefixLength: this.ipam.subnets.ipv4.length,
      ipv6PrefixLength: 64,
    };
    this.store = new StateStore(c.stateDir, this.prefix);
  }

  /** Takes the prefix's controller lock, loads the state and (by default) reconciles the kernel with it. */
  static async open(opts: CubenetOptions): Promise<Cubenet> {
    const prefix = parsePrefix(opts.config.prefix);
    // The lock guards the kernel objects of the prefix, which are host-wide: it does not live in the state folder.
    const unlock = await acquireLock(join(opts.config.lockDir ?? DEFAULT_LOCK_DIR, `${prefix}.lock`));
    try {
      const net = new Cubenet(opts, unlock);
      const { records, problems } = await net.store.load();
      for (const r of records) {
        net.ipam.claim(r.host);
        net.sandboxes.set(r.id, r);
      }
      if (opts.reconcile ?? true) {
        net.lastReconcile = await net.reconcile();
        net.lastReconcile.stateProblems.push(...problems);
      }
      return net;
    } catch (e) {
      await unlock();
      throw e;
    }
  }

  private get firewall(): FirewallBackend {
    return this.opts.firewall;
  }

  private get endpoints(): EndpointProvider {
    return this.opts.endpoints;
  }

  get subnets(): { ipv4: string; ipv6: string } {
    return { ipv4: this.ipam.subnets.ipv4.text, ipv6: this.ipam.subnets.ipv6.text };
  }

  async preflight(): Promise<string[]> {
    return [...(await this.firewall.preflight()), ...(await this.endpoints.preflight()), ...((await this.opts.rateLimiter?.preflight()) ?? [])];
  }

  /** Bridge + root firewall hook. Idempotent; refuses with every missing prerequisite named. */
  async init(): Promise<void> {
    const reasons = await this.preflight();
    if (reasons.length) throw new NetPrerequisiteError(reasons);
    await this.endpoints.initBridge(this.setup);
    await this.firewall.init({ bridge: this.bridge, ipv4Subnet: this.subnets.ipv4, ipv6Subnet: this.subnets.ipv6, gateway: this.ipam.gateway });
    await this.opts.forwarding?.enable();
    for (const [kind, n] of Object.entries(this.opts.spares ?? {}) as Array<[EndpointKind, number]>) {
      if (n > 0) this.refill(kind);
    }
  }

  // ---- sandboxes -------------------------------------------------------------------------------------------------

  async checkout(options: CheckoutOptions = {}): Promise<Sandbox> {
    this.assertOpen();
    this.lastForeground = performance.now();
    const kind: EndpointKind = options.kind ?? 'isolated';
    if (kind !== 'tap' && kind !== 'isolated') throw new NetInputError('kind', `expected "tap" or "isolated", got ${JSON.stringify(kind)}`);
    const policy = options.policy === undefined ? { ...DEFAULT_POLICY } : parsePolicy(options.policy);
    const forwards = (options.forwards ?? []).map((f, i) => parseForward(f, `forwards[${i}]`));
    const id = options.id === undefined ? newSandboxId() : parseSandboxId(options.id);
    const rateLimit = options.rateLimit === undefined ? undefined : parseRateLimit(options.rateLimit);
    const limiter = rateLimit ? this.requireRateLimiter() : undefined;
    if (this.sandboxes.has(id) || this.busy.has(id)) throw new NetInputError('sandbox id', `${id} is already in use`);
    this.assertForwardsFree(forwards, id);

    let slot = this.idle[kind].pop();
    const fresh = !slot;
    let record: SandboxRecord | undefined;
    const work = (async () => {
      if (!slot) {
        const host = this.ipam.allocate();
        slot = { host, endpoint: undefined as unknown as Endpoint };
        slot.endpoint = await this.createEndpoint(kind, host);
      }
      record = {
        id,
        host: slot.host,
        addresses: this.ipam.addresses(slot.host),
        endpoint: slot.endpoint,
        policy,
        forwards,
        createdAt: new Date().toISOString(),
        ...(rateLimit ? { rateLimit } : {}),
      };
      // The limit exists before the rules that let the sandbox send anything (pf's dnpipe names its pipe).
      if (limiter && rateLimit) await limiter.apply(rateTargetOf(record), rateLimit);
      await this.firewall.applySandbox(rulesOf(record));
      await this.store.write(record);
      this.sandboxes.set(id, record);
    })();
    this.busy.set(id, work);
    try {
      await work;
    } catch (e) {
      // Undo whatever got made: nothing of a failed checkout may stay in the kernel or the state.
      await this.undoCheckout(id, slot, record, fresh).catch((u: Error) => this.backgroundFailure(u));
      throw e;
    } finally {
      this.busy.delete(id);
    }
    if ((this.opts.spares?.[kind] ?? 0) > 0) this.refill(kind);
    return toSandbox(record!);
  }

  private async undoCheckout(id: SandboxId, slot: IdleEndpoint | undefined, record: SandboxRecord | undefined, fresh: boolean): Promise<void> {
    this.sandboxes.delete(id);
    await this.store.remove(id);
    if (record) await this.firewall.removeSandbox(id, rulesOf(record));
    else await this.firewall.removeSandbox(id);
    if (record?.rateLimit) await this.opts.rateLimiter?.clear(rateTargetOf(record)).catch((e: Error) => this.backgroundFailure(e));
    if (!slot) return;
    if (slot.endpoint) {
      // A fresh endpoint may be half-made; an idle one was fine before: it goes back after its states are gone.
      if (fresh) await this.endpoints.destroy(slot.endpoint);
      else {
        await this.firewall.killStates(this.ipam.addresses(slot.host));
        this.idle[slot.endpoint.kind].push(slot);
        return;
      }
    }
    this.ipam.release(slot.host);
  }

  private async createEndpoint(kind: EndpointKind, host: number): Promise<Endpoint> {
    const name = parseInterfaceName(`${this.prefix}-${kind === 'tap' ? 't' : 'e'}${randomBytes(4).toString('hex')}`);
    try {
      const endpoint = await this.endpoints.create(kind, name, this.bridge);
      await this.endpoints.address(endpoint, this.ipam.addresses(host), this.setup);
      return endpoint;
    } catch (e) {
      await this.endpoints.destroy({ kind, hostInterface: name, ...(kind === 'isolated' ? { isolation: name } : {}) }).catch(() => undefined);
      throw e;
    }
  }

  /** Creates idle endpoints until `count` of this kind are warm. */
  async warm(kind: EndpointKind, count: number): Promise<void> {
    this.assertOpen();
    while (this.idle[kind].length + this.refilling[kind] < count) {
      this.refilling[kind]++;
      try {
        const host = this.ipam.allocate();
        try {
          this.idle[kind].push({ host, endpoint: await this.createEndpoint(kind, host) });
        } catch (e) {
          this.ipam.release(host);
          throw e;
        }
      } finally {
        this.refilling[kind]--;
      }
    }
  }

  private refill(kind: EndpointKind): void {
    const target = this.opts.spares?.[kind] ?? 0;
    if (this.idle[kind].length + this.refilling[kind] >= target || this.closed) return;
    this.track(this.warm(kind, target));
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch((e: Error) => this.backgroundFailure(e)).finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  private backgroundFailure(e: Error): void {
    this.backgroundErrors.push(e);
    this.opts.onBackgroundError?.(e);
  }

  /** Waits for background teardown and refills. */
  async settle(): Promise<void> {
    while (this.background.size) await Promise.all([...this.background]);
  }

  /** Runs `fn` on the sandbox's record after every operation queued on it before has finished (FIFO per sandbox). */
  private async exclusive<T>(id: SandboxId, fn: (r: SandboxRecord) => Promise<T>): Promise<T> {
    const previous = this.busy.get(id) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const tail = previous.catch(() => undefined).then(() => mine);
    this.busy.set(id, tail);
    this.lastForeground = performance.now();
    try {
      await previous.catch(() => undefined);
      const record = this.sandboxes.get(id);
      if (!record) throw new UnknownSandboxError(id);
      return await fn(record);
    } finally {
      this.lastForeground = performance.now();
      done();
      if (this.busy.get(id) === tail) this.busy.delete(id);
    }
  }

  /** Replaces the whole policy in one transaction; kills the sandbox's states if access was withdrawn. */
  async setPolicy(idInput: unknown, policyInput: unknown): Promise<Sandbox> {
    const id = parseSandboxId(idInput);
    const policy = parsePolicy(policyInput);
    return this.exclusive(id, async (r) => {
      const next = { ...r, policy };
      await this.firewall.applySandbox(rulesOf(next), rulesOf(r));
      await this.store.write(next);
      this.sandboxes.set(id, next);
      await this.killWithdrawn(r, policy);
      return toSandbox(next);
    });
  }

  /** Adds entries to one list (one transaction). */
  async addAddresses(idInput: unknown, listInput: unknown, entriesInput: unknown): Promise<void> {
    const id = parseSandboxId(idInput);
    const list = parseAddressListName(listInput);
    const entries = parseAddressList(entriesInput, list);
    await this.exclusive(id, async (r) => {
      const merged = [...new Set([...r.policy[list], ...entries])];
      if (merged.length > 10_000) parseAddressList(merged, list); // throws the limit error
      const next = { ...r, policy: { ...r.policy, [list]: merged } };
      await this.firewall.addAddresses(id, list, entries, { addresses: r.addresses, policy: r.policy });
      await this.store.write(next);
      this.sandboxes.set(id, next);
      if (list === 'denyOut') await this.firewall.killStates(r.addresses, entries);
    });
  }

  /** Replaces one list's content (one transaction). */
  async replaceAddresses(idInput: unknown, listInput: unknown, entriesInput: unknown): Promise<void> {
    const id = parseSandboxId(idInput);
    const list = parseAddressListName(listInput);
    const entries = parseAddressList(entriesInput, list);
    await this.exclusive(id, async (r) => {
      const next = { ...r, policy: { ...r.policy, [list]: entries } };
      await this.firewall.replaceAddresses(id, list, entries, { addresses: r.addresses, policy: r.policy });
      await this.store.write(next);
      this.sandboxes.set(id, next);
      await this.killWithdrawn(r, next.policy);
    });
  }

  /** Kills the states a policy change no longer allows (all of them when internet access goes off). */
  private async killWithdrawn(before: SandboxRecord, policy: SandboxPolicy): Promise<void> {
    const withdrawn = withdrawnDestinations(before.policy, policy);
    if (withdrawn === 'all') await this.firewall.killStates(before.addresses);
    else if (withdrawn.length) await this.firewall.killStates(before.addresses, withdrawn);
  }

  /** Limits what the sandbox sends to `limit.egressMbit` (replacing any limit it had). */
  async setRateLimit(idInput: unknown, limitInput: unknown): Promise<Sandbox> {
    const id = parseSandboxId(idInput);
    const limit = parseRateLimit(limitInput);
    const limiter = this.requireRateLimiter();
    return this.exclusive(id, async (r) => {
      const next: SandboxRecord = { ...r, rateLimit: limit };
      await limiter.apply(rateTargetOf(r), limit);
      if (limiter.inFirewall) await this.firewall.applySandbox(rulesOf(next), rulesOf(r));
      await this.store.write(next);
      this.sandboxes.set(id, next);
      return toSandbox(next);
    });
  }

  /** Removes the sandbox's rate limit (a sandbox without one is fine). */
  async clearRateLimit(idInput: unknown): Promise<Sandbox> {
    const id = parseSandboxId(idInput);
    const limiter = this.requireRateLimiter();
    return this.exclusive(id, async (r) => {
      const { rateLimit: _gone, ...next } = r;
      if (limiter.inFirewall) await this.firewall.applySandbox(rulesOf(next), rulesOf(r));
      await limiter.clear(rateTargetOf(r));
      await this.store.write(next);
      this.sandboxes.set(id, next);
      return toSandbox(next);
    });
  }

  private requireRateLimiter(): RateLimiter {
    if (!this.opts.rateLimiter) throw new Error('this cubenet was opened without a rate limiter');
    return this.opts.rateLimiter;
  }

  async addForward(idInput: unknown, forwardInput: unknown): Promise<Sandbox> {
    const id = parseSandboxId(idInput);
    const forward = parseForward(forwardInput);
    return this.exclusive(id, async (r) => {
      this.assertForwardsFree([forward], id);
      const others = r.forwards.filter((f) => !(f.protocol === forward.protocol && f.hostPort === forward.hostPort));
      const replaced = r.forwards.find((f) => f.protocol === forward.protocol && f.hostPort === forward.hostPort);
      if (replaced) await this.firewall.removeForward(rulesOf(r), replaced);
      const next = { ...r, forwards: [...others, forward] };
      await this.firewall.addForward(rulesOf({ ...r, forwards: others }), forward);
      await this.store.write(next);
      this.sandboxes.set(id, next);
      return toSandbox(next);
    });
  }

  async removeForward(idInput: unknown, forwardInput: unknown): Promise<Sandbox> {
    const id = parseSandboxId(idInput);
    const forward = parseForward(forwardInput);
    return this.exclusive(id, async (r) => {
      const existing = r.forwards.find((f) => f.protocol === forward.protocol && f.hostPort === forward.hostPort);
      if (!existing) throw new NetInputError('forward', `sandbox ${id} has no ${forward.protocol} forward on host port ${forward.hostPort}`);
      await this.firewall.removeForward(rulesOf(r), existing);
      const next = { ...r, forwards: r.forwards.filter((f) => f !== existing) };
      await this.store.write(next);
      this.sandboxes.set(id, next);
      // Connections that came in through the forward must not outlive it.
      await this.firewall.killStates(r.addresses);
      return toSandbox(next);
    });
  }

  private assertForwardsFree(forwards: PortForward[], self: SandboxId): void {
    for (const f of forwards) {
      for (const r of this.sandboxes.values()) {
        if (r.id !== self && r.forwards.some((g) => g.protocol === f.protocol && g.hostPort === f.hostPort)) {
          throw new NetInputError('forward', `host port ${f.protocol}/${f.hostPort} is already forwarded to sandbox ${r.id}`);
        }
      }
    }
  }

  /**
   * Cuts the sandbox off (its firewall hook and rules go in one transaction) and forgets it; its states are killed
   * and its endpoint recycled in the background (see settle()).
   */
  async release(idInput: unknown): Promise<void> {
    const id = parseSandboxId(idInput);
    await this.exclusive(id, async (r) => {
      await this.firewall.removeSandbox(id, rulesOf(r));
      await this.store.remove(id);
      this.sandboxes.delete(id);
      const limiter = r.rateLimit ? this.opts.rateLimiter : undefined;
      // The limit goes before the endpoint can be recycled (an idle endpoint carries no limit). If that fails, the
      // states are still killed (recycle): what is left of the limit is a leak audit reports and reconcile removes.
      const cleared = limiter ? limiter.clear(rateTargetOf(r)).catch((e: Error) => this.backgroundFailure(e)) : Promise.resolve();
      this.track(cleared.then(() => this.recycle({ host: r.host, endpoint: r.endpoint })));
    });
  }

  /**
   * Resolves once no foreground call has run for `quietMs`, or after `maxMs`: background teardown yields the CPU to
   * a burst of checkouts and releases on a small host. (The release transaction already cut the sandbox off: its
   * member and anti-spoof entries are gone, so its endpoint can send nothing; the states wait only to be removed.)
   */
  private async quiet(quietMs = 20, maxMs = 2000): Promise<void> {
    const start = performance.now();
    for (;;) {
      const now = performance.now();
      const wait = Math.min(this.lastForeground + quietMs - now, start + maxMs - now);
      if (wait <= 0 || this.closed) return;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  private async recycle(slot: IdleEndpoint): Promise<void> {
    try {
      await this.quiet();
      await this.firewall.killStates(this.ipam.addresses(slot.host));
    } catch (e) {
      // The address stays reserved (not released): better to leak a number than hand out one with live states.
      await this.endpoints.destroy(slot.endpoint).catch(() => undefined);
      throw e;
    }
    const kind = slot.endpoint.kind;
    const keep = Math.max(this.opts.spares?.[kind] ?? 0, this.opts.maxIdle ?? 8);
    if (!this.closed && this.idle[kind].length < keep) {
      this.idle[kind].push(slot);
      return;
    }
    await this.endpoints.destroy(slot.endpoint);
    this.ipam.release(slot.host);
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.sandboxes.keys()].map((id) => this.release(id)));
  }

  list(): Sandbox[] {
    return [...this.sandboxes.values()].map(toSandbox);
  }

  get(idInput: unknown): Sandbox {
    const r = this.sandboxes.get(parseSandboxId(idInput));
    if (!r) throw new UnknownSandboxError(String(idInput));
    return toSandbox(r);
  }

  idleCount(kind: EndpointKind): number {
    return this.idle[kind].length;
  }

  // ---- audit / reconcile ------------------------------------------------------------------------------------------

  /** Compares belief with the kernel; changes nothing. Call settle() first for a quiet picture. */
  async audit(): Promise<AuditReport> {
    const inv = await this.firewall.inventory();
    const kernelEndpoints = await this.endpoints.list(this.prefix);
    const states = await this.firewall.listStates(this.subnets);
    const believedEndpoints = new Set<string>([
      ...[...this.sandboxes.values()].map((r) => r.endpoint.hostInterface),
      ...this.idle.tap.map((s) => s.endpoint.hostInterface),
      ...this.idle.isolated.map((s) => s.endpoint.hostInterface),
    ]);
    const kernelNames = new Set(kernelEndpoints.map((e) => e.hostInterface as string));
    const kernelChains = new Map(inv.sandboxes.map((s) => [s.id as string, s]));
    const leaks: AuditReport['leaks'] = { endpoints: [], chains: [], sets: [], forwards: [], bindings: [], states: [] };
    const missing: AuditReport['missing'] = { endpoints: [], chains: [], sets: [], forwards: [] };
    for (const name of kernelNames) if (!believedEndpoints.has(name)) leaks.endpoints.push(name);
    for (const name of believedEndpoints) if (!kernelNames.has(name)) missing.endpoints.push(name);
    for (const [id, k] of kernelChains) {
      const r = this.sandboxes.get(id as SandboxId);
      if (!r) {
        leaks.chains.push(`sbx-${id}`);
        leaks.sets.push(...k.sets);
        leaks.forwards.push(...k.forwards.map((f) => `${f.protocol}/${f.hostPort}->${id}`));
        continue;
      }
      const wanted = new Set(this.firewall.setNames(id as SandboxId, rulesOf(r)));
      for (const s of k.sets) if (!wanted.has(s)) leaks.sets.push(s);
      for (const s of wanted) if (!k.sets.includes(s)) missing.sets.push(s);
      for (const f of r.forwards) if (!k.forwards.some((g) => g.protocol === f.protocol && g.hostPort === f.hostPort)) missing.forwards.push(`${f.protocol}/${f.hostPort}->${id}`);
      for (const f of k.forwards) if (!r.forwards.some((g) => g.protocol === f.protocol && g.hostPort === f.hostPort)) leaks.forwards.push(`${f.protocol}/${f.hostPort}->${id}`);
    }
    for (const id of this.sandboxes.keys()) if (!kernelChains.has(id)) missing.chains.push(`sbx-${id}`);
    leaks.forwards.push(...inv.orphanForwards.map((f) => `${f.protocol}/${f.hostPort}->${f.target}`));
    leaks.sets.push(...(inv.strayEntries ?? []));
    const owned = this.ownedBindings();
    for (const b of inv.bindings) if (!owned.has(`${b.hostInterface} ${b.address}`)) leaks.bindings.push(`${b.hostInterface} ${b.address}`);
    const active = this.activeAddresses();
    for (const s of states) {
      // A state is a sandbox's when one of its ends is a sandbox address (not the gateway, not multicast).
      const ends = [s.source, s.destination, s.replySource].filter((a) => (this.ipam.hostOf(a) ?? 1) > 1);
      if (ends.length && !ends.some((a) => active.has(a))) leaks.states.push(`${s.protocol} ${s.source} -> ${s.destination}`);
    }
    if (this.opts.rateLimiter) {
      const rl = await this.auditRateLimits(this.opts.rateLimiter);
      leaks.rateLimits = rl.leaks;
      missing.rateLimits = rl.missing;
    }
    const ok = Object.values(leaks).every((l) => l.length === 0) && Object.values(missing).every((l) => l.length === 0);
    return {
      ok,
      believed: { sandboxes: this.sandboxes.size, idleEndpoints: this.idle.tap.length + this.idle.isolated.length },
      kernel: { rootHook: inv.rootHook, chains: kernelChains.size, endpoints: kernelNames.size, states: states.length },
      leaks,
      missing,
    };
  }

  /** Rate-limit objects against the limited sandboxes: a leak is owned by none, a missing one lacks its object or rate. */
  private async auditRateLimits(limiter: RateLimiter): Promise<{ leaks: string[]; missing: string[]; stray: Awaited<ReturnType<RateLimiter['inventory']>>; absent: SandboxRecord[] }> {
    const limited = [...this.sandboxes.values()].filter((r) => r.rateLimit);
    const bySlot = new Map(limited.map((r) => [r.host, r]));
    const byInterface = new Map(limited.map((r) => [r.endpoint.hostInterface as string, r]));
    const kernel = await limiter.inventory();
    const stray = kernel.filter((k) => (k.slot !== undefined && !bySlot.has(k.slot)) || (k.hostInterface !== undefined && !byInterface.has(k.hostInterface)));
    const absent = limited.filter((r) => !kernel.some((k) => k.slot === r.host && (k.egressMbit === undefined || k.egressMbit === r.rateLimit!.egressMbit)));
    return { leaks: stray.map((k) => k.object), missing: absent.map((r) => `${r.id} (${r.rateLimit!.egressMbit} Mbit/s)`), stray, absent };
  }

  private ownedBindings(): Set<string> {
    const out = new Set<string>();
    for (const r of this.sandboxes.values()) {
      out.add(`${r.endpoint.hostInterface} ${r.addresses.ipv4}`);
      out.add(`${r.endpoint.hostInterface} ${r.addresses.ipv6}`);
    }
    return out;
  }

  private activeAddresses(): Set<string> {
    const out = new Set<string>();
    for (const r of this.sandboxes.values()) {
      out.add(r.addresses.ipv4);
      out.add(r.addresses.ipv6);
    }
    return out;
  }

  /**
   * Makes the kernel match the state files: removes chains, sets, forwards, bindings and endpoints carrying the
   * prefix that no active sandbox owns (leftovers of a crashed run, idle endpoints included), kills states of
   * addresses nobody owns, re-applies a sandbox whose rules are missing and drops one whose endpoint is gone.
   */
  async reconcile(): Promise<ReconcileReport> {
    const report: ReconcileReport = { removedChains: [], removedEndpoints: [], removedStray: 0, killedStatesOf: [], reappliedPolicies: [], droppedSandboxes: [], stateProblems: [] };
    const kernelEndpoints = await this.endpoints.list(this.prefix);
    const kernelNames = new Set(kernelEndpoints.map((e) => e.hostInterface as string));
    for (const r of [...this.sandboxes.values()]) {
      if (!kernelNames.has(r.endpoint.hostInterface)) {
        await this.firewall.removeSandbox(r.id, rulesOf(r));
        await this.store.remove(r.id);
        this.sandboxes.delete(r.id);
        this.ipam.release(r.host);
        report.droppedSandboxes.push(r.id);
      }
    }
    const owned = new Set([...this.sandboxes.values()].map((r) => r.endpoint.hostInterface as string));
    const unowned = kernelEndpoints.filter((e) => !owned.has(e.hostInterface));
    await this.destroyEndpoints(unowned);
    report.removedEndpoints.push(...unowned.map((e) => e.hostInterface));
    const inv: FirewallInventory = await this.firewall.inventory();
    if (inv.rootHook) {
      for (const k of inv.sandboxes) {
        if (this.sandboxes.has(k.id)) continue;
        const v4 = k.addresses.find((a) => !a.includes(':'));
        const v6 = k.addresses.find((a) => a.includes(':'));
        await this.firewall.removeSandbox(k.id, v4 && v6 ? { addresses: { ipv4: v4, ipv6: v6 }, forwards: k.forwards } : undefined);
        report.removedChains.push(`sbx-${k.id}`);
      }
      for (const r of this.sandboxes.values()) {
        const k = inv.sandboxes.find((x) => x.id === r.id);
        if (k) {
          // Present but not as the state file says (e.g. killed between a policy transaction and its state write):
          // take away what the kernel holds for it and apply the recorded policy.
          const wanted = this.firewall.setNames(r.id, rulesOf(r));
          if (wanted.length === k.sets.length && wanted.every((x) => k.sets.includes(x))) continue;
          await this.firewall.removeSandbox(r.id, { addresses: r.addresses, forwards: k.forwards, hostInterface: r.endpoint.hostInterface });
        }
        await this.firewall.applySandbox(rulesOf(r));
        report.reappliedPolicies.push(r.id);
      }
      const ownedBindings = this.ownedBindings();
      const stray = {
        forwards: inv.orphanForwards,
        bindings: inv.bindings.filter((b) => !ownedBindings.has(`${b.hostInterface} ${b.address}`)),
        entries: inv.strayEntries ?? [],
      };
      // Forwards of removed chains were handled with their chain; what remains points at no sandbox.
      if (stray.forwards.length || stray.bindings.length || stray.entries.length) {
        await this.firewall.removeStray(stray);
        report.removedStray = stray.forwards.length + stray.bindings.length + stray.entries.length;
      }
    }
    const active = this.activeAddresses();
    const orphanHosts = new Set<number>();
    for (const s of await this.firewall.listStates(this.subnets)) {
      for (const a of [s.source, s.destination, s.replySource]) {
        const host = this.ipam.hostOf(a);
        if (host !== undefined && host !== 1 && !active.has(a)) orphanHosts.add(host);
      }
    }
    for (const host of orphanHosts) {
      const a = this.ipam.addresses(host);
      await this.firewall.killStates(a);
      report.killedStatesOf.push(a.ipv4);
    }
    if (this.opts.rateLimiter) {
      const limiter = this.opts.rateLimiter;
      const { stray, absent } = await this.auditRateLimits(limiter);
      for (const k of stray) await limiter.remove(k);
      for (const r of absent) await limiter.apply(rateTargetOf(r), r.rateLimit!);
      report.removedRateLimits = stray.map((k) => k.object);
      report.reappliedRateLimits = absent.map((r) => r.id);
    }
    return report;
  }

  /** Removes everything this prefix has in the kernel (sandboxes, idle endpoints, bridge, table). For tests/rigs. */
  async teardown(): Promise<void> {
    this.closed = true;
    await this.settle();
    const endpoints: Endpoint[] = [];
    for (const r of [...this.sandboxes.values()]) {
      if (r.rateLimit) await this.opts.rateLimiter?.clear(rateTargetOf(r)).catch(() => undefined);
      await this.firewall.removeSandbox(r.id, rulesOf(r)).catch(() => undefined);
      await this.firewall.killStates(r.addresses).catch(() => undefined);
      endpoints.push(r.endpoint);
      await this.store.remove(r.id);
      this.sandboxes.delete(r.id);
      this.ipam.release(r.host);
    }
    for (const kind of ['tap', 'isolated'] as const) {
      for (const s of this.idle[kind].splice(0)) {
        endpoints.push(s.endpoint);
        this.ipam.release(s.host);
      }
    }
    for (const e of await this.endpoints.list(this.prefix)) if (!endpoints.some((x) => x.hostInterface === e.hostInterface)) endpoints.push(e);
    await this.destroyEndpoints(endpoints);
    if (this.opts.rateLimiter) for (const k of await this.opts.rateLimiter.inventory()) await this.opts.rateLimiter.remove(k);
    await this.firewall.destroy();
    await this.endpoints.destroyBridge(this.bridge);
    await this.opts.forwarding?.restore();
  }

  private async destroyEndpoints(endpoints: Endpoint[]): Promise<void> {
    if (!endpoints.length) return;
    if (this.endpoints.destroyMany) await this.endpoints.destroyMany(endpoints);
    else for (const e of endpoints) await this.endpoints.destroy(e);
  }

  /** Waits for background work and releases the controller lock. Sandboxes stay (they are in the state files). */
  async close(): Promise<void> {
    this.closed = true;
    await this.settle();
    this.firewall.close?.();
    await this.unlock();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('cubenet controller is closed');
  }

  endpointOf(idInput: unknown): Endpoint {
    return this.get(idInput).endpoint;
  }
}

function rulesOf(r: SandboxRecord): SandboxRules {
  return {
    id: r.id,
    addresses: r.addresses,
    policy: r.policy,
    forwards: r.forwards,
    hostInterface: r.endpoint.hostInterface,
    ...(r.rateLimit ? { rateLimit: { ...r.rateLimit, slot: r.host } } : {}),
  };
}

function rateTargetOf(r: SandboxRecord): RateLimitTarget {
  return { id: r.id, slot: r.host, hostInterface: r.endpoint.hostInterface };
}

function toSandbox(r: SandboxRecord): Sandbox {
  return {
    id: r.id,
    addresses: { ...r.addresses },
    endpoint: { ...r.endpoint },
    policy: structuredClone(r.policy),
    forwards: r.forwards.map((f) => ({ ...f })),
    createdAt: r.createdAt,
    ...(r.rateLimit ? { rateLimit: { ...r.rateLimit } } : {}),
  };
}

export function newSandboxId(): SandboxId {
  return randomBytes(6).toString('hex') as SandboxId;
}

export type { AddressList };
