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
import { join } from 'node:path';
import { BackgroundWork } from '../shared/background-work.ts';
import type { Endpoint, EndpointProvider, BridgeSetup } from './endpoint/endpoint.ts';
import type { FirewallBackend } from './firewall/firewall.ts';
import { withdrawnDestinations } from './firewall/firewall.ts';
import { Ipam, parseSubnets } from './ipam.ts';
import { parseRateLimit, type RateLimiter } from './rate-limit/rate-limit.ts';
import { acquireLock } from './lock.ts';
import { StateStore, type SandboxRecord } from './state.ts';
import {
  DEFAULT_POLICY,
  type AddressList,
  type EndpointKind,
  type InterfaceName,
  type PortForward,
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
import { auditDiff, rateLimitDiff } from './cubenet/audit.ts';
import { NetPrerequisiteError, UnknownSandboxError } from './cubenet/errors.ts';
import { DEFAULT_LOCK_DIR, type CubenetOptions } from './cubenet/options.ts';
import {
  firewallRepair,
  orphanStateHosts,
  sandboxesWithoutEndpoint,
  unownedEndpoints,
} from './cubenet/reconcile-plan.ts';
import type { AuditReport, ReconcileReport } from './cubenet/reports.ts';
import {
  newSandboxId,
  rateTargetOf,
  rulesOf,
  toSandbox,
  type CheckoutOptions,
  type Sandbox,
} from './cubenet/sandbox.ts';
import { SandboxQueue } from './cubenet/sandbox-queue.ts';
import { SpareEndpoints, type IdleEndpoint } from './cubenet/spare-endpoints.ts';

export { NetPrerequisiteError, UnknownSandboxError } from './cubenet/errors.ts';
export { DEFAULT_LOCK_DIR, type CubenetOptions, type HostForwarding } from './cubenet/options.ts';
export type { AuditReport, ReconcileReport } from './cubenet/reports.ts';
export { newSandboxId, type CheckoutOptions, type Sandbox } from './cubenet/sandbox.ts';

export class Cubenet {
  readonly prefix: string;
  readonly bridge: InterfaceName;
  readonly ipam: Ipam;
  readonly setup: BridgeSetup;
  private readonly sandboxes = new Map<SandboxId, SandboxRecord>();
  private readonly work: BackgroundWork;
  private readonly queue = new SandboxQueue();
  private readonly spares: SpareEndpoints;
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
    this.work = new BackgroundWork(opts.onBackgroundError);
    this.spares = new SpareEndpoints({
      prefix: this.prefix,
      bridge: this.bridge,
      setup: this.setup,
      ipam: this.ipam,
      endpoints: opts.endpoints,
      work: this.work,
      spares: opts.spares,
      maxIdle: opts.maxIdle,
      closed: () => this.closed,
    });
  }

  /** Errors of background work (teardown, refills), oldest first; also given to `onBackgroundError`. */
  get backgroundErrors(): Error[] {
    return this.work.errors;
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
    return [
      ...(await this.firewall.preflight()),
      ...(await this.endpoints.preflight()),
      ...((await this.opts.rateLimiter?.preflight()) ?? []),
    ];
  }

  /** Bridge + root firewall hook. Idempotent; refuses with every missing prerequisite named. */
  async init(): Promise<void> {
    const reasons = await this.preflight();
    if (reasons.length) throw new NetPrerequisiteError(reasons);
    await this.endpoints.initBridge(this.setup);
    await this.firewall.init({
      bridge: this.bridge,
      ipv4Subnet: this.subnets.ipv4,
      ipv6Subnet: this.subnets.ipv6,
      gateway: this.ipam.gateway,
    });
    await this.opts.forwarding?.enable();
    this.spares.refillAll();
  }

  // ---- sandboxes -------------------------------------------------------------------------------------------------

  async checkout(options: CheckoutOptions = {}): Promise<Sandbox> {
    this.assertOpen();
    this.queue.touch();
    const kind: EndpointKind = options.kind ?? 'isolated';
    if (kind !== 'tap' && kind !== 'isolated')
      throw new NetInputError('kind', `expected "tap" or "isolated", got ${JSON.stringify(kind)}`);
    const policy = options.policy === undefined ? { ...DEFAULT_POLICY } : parsePolicy(options.policy);
    const forwards = (options.forwards ?? []).map((f, i) => parseForward(f, `forwards[${i}]`));
    const id = options.id === undefined ? newSandboxId() : parseSandboxId(options.id);
    const rateLimit = options.rateLimit === undefined ? undefined : parseRateLimit(options.rateLimit);
    const limiter = rateLimit ? this.requireRateLimiter() : undefined;
    if (this.sandboxes.has(id) || this.queue.has(id)) throw new NetInputError('sandbox id', `${id} is already in use`);
    this.assertForwardsFree(forwards, id);

    let slot = this.spares.take(kind);
    const fresh = !slot;
    let record: SandboxRecord | undefined;
    const work = async () => {
      if (!slot) {
        const host = this.ipam.allocate();
        slot = { host, endpoint: undefined as unknown as Endpoint };
        slot.endpoint = await this.spares.create(kind, host);
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
    };
    await this.queue.first(id, async () => {
      try {
        await work();
      } catch (e) {
        // Undo whatever got made: nothing of a failed checkout may stay in the kernel or the state.
        await this.undoCheckout(id, slot, record, fresh).catch((u: Error) => this.work.fail(u));
        throw e;
      }
    });
    if (this.spares.keepsSpares(kind)) this.spares.refill(kind);
    return toSandbox(record!);
  }

  private async undoCheckout(
    id: SandboxId,
    slot: IdleEndpoint | undefined,
    record: SandboxRecord | undefined,
    fresh: boolean,
  ): Promise<void> {
    this.sandboxes.delete(id);
    await this.store.remove(id);
    if (record) await this.firewall.removeSandbox(id, rulesOf(record));
    else await this.firewall.removeSandbox(id);
    if (record?.rateLimit)
      await this.opts.rateLimiter?.clear(rateTargetOf(record)).catch((e: Error) => this.work.fail(e));
    if (!slot) return;
    if (slot.endpoint) {
      // A fresh endpoint may be half-made; an idle one was fine before: it goes back after its states are gone.
      if (fresh) await this.endpoints.destroy(slot.endpoint);
      else {
        await this.firewall.killStates(this.ipam.addresses(slot.host));
        this.spares.putBack(slot);
        return;
      }
    }
    this.ipam.release(slot.host);
  }

  /** Creates idle endpoints until `count` of this kind are warm. */
  async warm(kind: EndpointKind, count: number): Promise<void> {
    this.assertOpen();
    await this.spares.warm(kind, count);
  }

  /** Waits for background teardown and refills. */
  async settle(): Promise<void> {
    await this.work.settle();
  }

  /** Runs `fn` on the sandbox's record after every operation queued on it before has finished (FIFO per sandbox). */
  private exclusive<T>(id: SandboxId, fn: (r: SandboxRecord) => Promise<T>): Promise<T> {
    return this.queue.run(id, async () => {
      const record = this.sandboxes.get(id);
      if (!record) throw new UnknownSandboxError(id);
      return fn(record);
    });
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
      if (!existing)
        throw new NetInputError(
          'forward',
          `sandbox ${id} has no ${forward.protocol} forward on host port ${forward.hostPort}`,
        );
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
          throw new NetInputError(
            'forward',
            `host port ${f.protocol}/${f.hostPort} is already forwarded to sandbox ${r.id}`,
          );
        }
      }
    }
  }

  /**
   * Forgets the sandbox and cuts it off (its firewall hook and rules go in one transaction); its states are killed
   * and its endpoint recycled in the background (see settle()).
   *
   * The state file goes first: a controller killed at any later step leaves kernel objects no state file owns, which
   * the next start's reconcile sweeps. (The other way round, a sandbox whose rules were gone but whose state file
   * was not would be re-applied by reconcile: a release undone.) If removing the rules fails, the sandbox stays
   * forgotten and its endpoint and address stay reserved: audit reports both as leaks, reconcile removes them.
   */
  async release(idInput: unknown): Promise<void> {
    const id = parseSandboxId(idInput);
    await this.exclusive(id, async (r) => {
      await this.store.remove(id);
      this.sandboxes.delete(id);
      await this.firewall.removeSandbox(id, rulesOf(r));
      const limiter = r.rateLimit ? this.opts.rateLimiter : undefined;
      // The limit goes before the endpoint can be recycled (an idle endpoint carries no limit). If that fails, the
      // states are still killed (recycle): what is left of the limit is a leak audit reports and reconcile removes.
      const cleared = limiter
        ? limiter.clear(rateTargetOf(r)).catch((e: Error) => this.work.fail(e))
        : Promise.resolve();
      this.work.track(cleared.then(() => this.recycle({ host: r.host, endpoint: r.endpoint })));
    });
  }

  private async recycle(slot: IdleEndpoint): Promise<void> {
    try {
      // Background teardown yields the CPU to a burst of checkouts and releases on a small host. (The release
      // transaction already cut the sandbox off: its endpoint can send nothing; the states wait only to be removed.)
      await this.queue.quiet(() => this.closed);
      await this.firewall.killStates(this.ipam.addresses(slot.host));
    } catch (e) {
      // The address stays reserved (not released): better to leak a number than hand out one with live states.
      await this.endpoints.destroy(slot.endpoint).catch(() => undefined);
      throw e;
    }
    await this.spares.keepOrDestroy(slot);
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
    return this.spares.count(kind);
  }

  // ---- audit / reconcile ------------------------------------------------------------------------------------------

  /** Compares belief with the kernel; changes nothing. Call settle() first for a quiet picture. */
  async audit(): Promise<AuditReport> {
    const inv = await this.firewall.inventory();
    const kernelEndpoints = await this.endpoints.list(this.prefix);
    const states = await this.firewall.listStates(this.subnets);
    const sandboxes = [...this.sandboxes.values()];
    const idleEndpoints = this.spares.interfaces();
    const { leaks, missing } = auditDiff(
      { sandboxes, idleEndpoints },
      { endpoints: kernelEndpoints.map((e) => e.hostInterface), firewall: inv, states },
      { setNames: (id, rules) => this.firewall.setNames(id, rules), hostOf: (a) => this.ipam.hostOf(a) },
    );
    if (this.opts.rateLimiter) {
      const { stray, absent } = rateLimitDiff(sandboxes, await this.opts.rateLimiter.inventory());
      leaks.rateLimits = stray.map((k) => k.object);
      missing.rateLimits = absent.map((r) => `${r.id} (${r.rateLimit!.egressMbit} Mbit/s)`);
    }
    const ok = Object.values(leaks).every((l) => l.length === 0) && Object.values(missing).every((l) => l.length === 0);
    return {
      ok,
      believed: { sandboxes: sandboxes.length, idleEndpoints: idleEndpoints.length },
      kernel: {
        rootHook: inv.rootHook,
        chains: new Set(inv.sandboxes.map((s) => s.id)).size,
        endpoints: new Set(kernelEndpoints.map((e) => e.hostInterface)).size,
        states: states.length,
      },
      leaks,
      missing,
    };
  }

  /**
   * Makes the kernel match the state files: removes chains, sets, forwards, bindings and endpoints carrying the
   * prefix that no active sandbox owns (leftovers of a crashed run, idle endpoints included), kills states of
   * addresses nobody owns, re-applies a sandbox whose rules are missing and drops one whose endpoint is gone.
   */
  async reconcile(): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      removedChains: [],
      removedEndpoints: [],
      removedStray: 0,
      killedStatesOf: [],
      reappliedPolicies: [],
      droppedSandboxes: [],
      stateProblems: [],
    };
    const kernelEndpoints = await this.endpoints.list(this.prefix);
    for (const r of sandboxesWithoutEndpoint(
      [...this.sandboxes.values()],
      kernelEndpoints.map((e) => e.hostInterface),
    )) {
      await this.firewall.removeSandbox(r.id, rulesOf(r));
      await this.store.remove(r.id);
      this.sandboxes.delete(r.id);
      this.ipam.release(r.host);
      report.droppedSandboxes.push(r.id);
    }
    const unowned = unownedEndpoints([...this.sandboxes.values()], kernelEndpoints);
    await this.destroyEndpoints(unowned);
    report.removedEndpoints.push(...unowned.map((e) => e.hostInterface));
    const repair = firewallRepair([...this.sandboxes.values()], await this.firewall.inventory(), (id, rules) =>
      this.firewall.setNames(id, rules),
    );
    for (const { id, known } of repair.remove) {
      await this.firewall.removeSandbox(id, known);
      report.removedChains.push(`sbx-${id}`);
    }
    for (const { record: r, clearFirst } of repair.reapply) {
      if (clearFirst) await this.firewall.removeSandbox(r.id, clearFirst);
      await this.firewall.applySandbox(rulesOf(r));
      report.reappliedPolicies.push(r.id);
    }
    const { stray } = repair;
    if (stray.forwards.length || stray.bindings.length || stray.entries.length) {
      await this.firewall.removeStray(stray);
      report.removedStray = stray.forwards.length + stray.bindings.length + stray.entries.length;
    }
    const states = await this.firewall.listStates(this.subnets);
    for (const host of orphanStateHosts([...this.sandboxes.values()], states, (a) => this.ipam.hostOf(a))) {
      const a = this.ipam.addresses(host);
      await this.firewall.killStates(a);
      report.killedStatesOf.push(a.ipv4);
    }
    if (this.opts.rateLimiter) {
      const limiter = this.opts.rateLimiter;
      const { stray, absent } = rateLimitDiff([...this.sandboxes.values()], await limiter.inventory());
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
    endpoints.push(...this.spares.drain());
    for (const e of await this.endpoints.list(this.prefix))
      if (!endpoints.some((x) => x.hostInterface === e.hostInterface)) endpoints.push(e);
    await this.destroyEndpoints(endpoints);
    if (this.opts.rateLimiter)
      for (const k of await this.opts.rateLimiter.inventory()) await this.opts.rateLimiter.remove(k);
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

export type { AddressList };
