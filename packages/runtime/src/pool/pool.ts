import { mkdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type {
  Checkpoint,
  CheckpointStore,
  Hypervisor,
  ProbeOptions,
  Vm,
  VmNetwork,
  VmSpec,
} from '../hypervisor/hypervisor.ts';
import { acquireLock } from '../net/lock.ts';
import { BackgroundWork } from '../shared/background-work.ts';
import { tiersOf, validatePoolConfig, type PoolConfig, type PoolMode } from './config.ts';
import { PoolInputError } from './errors.ts';
import { entryLabel } from './state-schema.ts';
import { NoNetwork, usesNetwork, type EntryNetwork, type NetLease } from './network.ts';
import { reconcilePool, type ReconcileReport } from './reconcile.ts';
import { TemplateCheckpointCache } from './template-cache.ts';
import { fillsToStart } from './refill-plan.ts';
import { PoolStateFile, type EntryRecord, type PoolState, type Tier } from './state.ts';

export type { ReconcileReport } from './reconcile.ts';

export interface PoolOptions {
  config: PoolConfig;
  hypervisor: Hypervisor;
  network?: EntryNetwork;
  /** Errors of background work (refills); they are also kept in `backgroundErrors`. */
  onBackgroundError?: (e: Error) => void;
  /** Called when a background fill ends (performance.now() times): what a refill timeline is drawn from. */
  onFill?: (fill: { tier: Tier; startedAt: number; endedAt: number; ok: boolean }) => void;
  /**
   * Runs against a hot entry's guest after its readiness probe, before it is parked: requests along the path a
   * checkout takes. Under TCG every restored VM translates guest code on its first use, so a path used once before
   * parking costs a fraction at checkout. A failure fails the fill.
   */
  warmHot?: (network: VmNetwork | undefined) => Promise<void>;
}

export interface CheckoutResult {
  id: string;
  vm: Vm;
  /** Where the sandbox came from: a hot entry, a durable entry, the template checkpoint (pool empty), a fresh boot. */
  source: 'hot' | 'durable' | 'template' | 'boot';
  network?: VmNetwork;
  /** performance.now() when the guest answered its readiness probe (the end of the cold-start clock). */
  readyAt: number;
}

export interface CheckoutOptions {
  /** The sandbox's network policy, applied before the checkout returns. */
  policy?: unknown;
  /** Who holds the entry (e.g. a gateway's sandbox id): recorded with it, found again after a restart. */
  label?: string;
}

export interface EntryView {
  id: string;
  tier: EntryRecord['tier'];
  status: EntryRecord['status'];
  label?: string;
  pid?: number;
  address?: string;
  checkpointBytes?: number;
  createdAt: string;
}

const PROBE_TIMEOUT_MS = 30_000;
const BOOT_PROBE_TIMEOUT_MS = 600_000;

/**
 * One template's pool. One controller per template (a lock file); state on disk after every change; everything the
 * pool made (VMs, checkpoint files, network leases) is recorded before it is handed out, so a controller killed at
 * any point and reopened can adopt or clean it (see reconcile()).
 */
export class Pool {
  readonly config: PoolConfig;
  lastReconcile?: ReconcileReport;
  private readonly hv: Hypervisor;
  private readonly checkpoints: CheckpointStore;
  private readonly net: EntryNetwork;
  private readonly file: PoolStateFile;
  private readonly vms = new Map<string, Vm>();
  private entries: EntryRecord[] = [];
  private base: Checkpoint | undefined;
  private readonly filling: Record<Tier, number> = { hot: 0, durable: 0 };
  private readonly work: BackgroundWork;
  private baseBuilding: Promise<Checkpoint> | undefined;
  private closed = false;
  private destroyed = false;

  private constructor(
    private readonly opts: PoolOptions,
    private readonly unlock: () => Promise<void>,
  ) {
    this.config = opts.config;
    this.hv = opts.hypervisor;
    this.checkpoints = opts.hypervisor.checkpoints;
    this.net = opts.network ?? new NoNetwork();
    this.file = new PoolStateFile(opts.config.stateDir, opts.config.template, opts.config.runRoot);
    this.work = new BackgroundWork(opts.onBackgroundError);
  }

  /** Errors of background work (refills), oldest first; warm() takes those of its fills out. */
  get backgroundErrors(): Error[] {
    return this.work.errors;
  }

  static async open(opts: PoolOptions): Promise<Pool> {
    const config = validatePoolConfig(opts.config);
    await mkdir(join(config.stateDir, config.template), { recursive: true, mode: 0o700 });
    const unlock = await acquireLock(join(config.stateDir, `${config.template}.lock`));
    try {
      const pool = new Pool({ ...opts, config }, unlock);
      const state = await pool.file.load();
      if (state && state.template !== config.template)
        throw new Error(`${pool.file.path} belongs to template ${state.template}`);
      pool.entries = state?.entries ?? [];
      pool.base = state?.base;
      pool.lastReconcile = await pool.reconcile();
      await pool.save();
      return pool;
    } catch (e) {
      await unlock();
      throw e;
    }
  }

  private get dir(): string {
    return join(this.config.stateDir, this.config.template);
  }

  private snapshot(): PoolState {
    return {
      version: 1,
      template: this.config.template,
      mode: this.config.mode,
      base: this.base,
      entries: this.entries,
    };
  }

  private save(): Promise<void> {
    return this.file.save(() => this.snapshot());
  }

  private spec(id: string, network: VmNetwork | undefined, memory: VmSpec['memory']): VmSpec {
    return {
      name: `cp-${id}`,
      image: this.config.image,
      network,
      memory,
      runDir: join(this.config.runRoot, this.config.template, id),
    };
  }

  private newId(): string {
    return `${this.config.template}-${randomBytes(4).toString('hex')}`;
  }

  // ---- template checkpoint ------------------------------------------------------------------------------------

  /** Boots the template VM once and checkpoints it (guest RAM in a shared memory file). Idempotent. */
  async init(): Promise<Checkpoint> {
    if (this.base) return this.base;
    this.baseBuilding ??= this.buildBase().finally(() => (this.baseBuilding = undefined));
    return this.baseBuilding;
  }

  private async buildBase(): Promise<Checkpoint> {
    // bhyve restores only into the devices the checkpoint was taken with: entries with a NIC need a template with
    // one (on a lease of its own, released once checkpointed; a crash in between leaves a lease reconcile releases).
    const path = join(this.dir, `${this.config.template}-base.state`);
    const cache = this.config.templateCache
      ? new TemplateCheckpointCache(this.config.templateCache, this.checkpoints)
      : undefined;
    const cached = await cache?.take(this.config.image, path).catch((e: Error) => {
      this.work.fail(e);
      return undefined;
    });
    if (cached) {
      this.base = cached;
      await this.save();
      return cached;
    }
    const net = this.hv.restoreNeedsSameDevices ? await this.lease() : undefined;
    let vm: Vm | undefined;
    try {
      vm = await this.hv.boot(this.spec(`${this.config.template}-tpl`, net?.vm, 'template'));
      await vm.probe({ timeoutMs: BOOT_PROBE_TIMEOUT_MS });
      const cp = await vm.checkpoint(path);
      this.base = cp;
      await this.save();
      await cache?.put(cp, this.config.image).catch((e: Error) => this.work.fail(e));
      return cp;
    } finally {
      await vm?.destroy();
      if (net) await this.net.release(net.id).catch((e: Error) => this.work.fail(e));
    }
  }

  // ---- filling ------------------------------------------------------------------------------------------------

  /** Fills each tier of the mode up to `count` (default: the configured sizes) and waits for it. */
  async warm(count?: number): Promise<void> {
    this.assertOpen();
    if (count !== undefined && (!Number.isInteger(count) || count < 0 || count > this.config.maxEntries)) {
      throw new PoolInputError(`count ${count} out of range 0-${this.config.maxEntries}`);
    }
    if (this.config.mode === 'full') return;
    await this.init();
    if (count !== undefined) for (const t of tiersOf(this.config.mode)) this.config.size[t] = count;
    this.scheduleRefill();
    await this.settle();
    const failed = this.backgroundErrors.splice(0);
    if (failed.length) throw new Error(`warm: ${failed.length} fill(s) failed: ${failed[0]!.message}`);
  }

  private idle(tier: Tier): EntryRecord[] {
    return this.entries.filter((e) => e.status === 'idle' && e.tier === tier);
  }

  private scheduleRefill(): void {
    if (this.closed || this.config.mode === 'full') return;
    const start = fillsToStart({
      tiers: tiersOf(this.config.mode),
      size: this.config.size,
      idle: { hot: this.idle('hot').length, durable: this.idle('durable').length },
      filling: this.filling,
      concurrency: this.config.refillConcurrency,
    });
    for (const tier of start) {
      this.filling[tier]++;
      const startedAt = performance.now();
      const ended = (ok: boolean) => this.opts.onFill?.({ tier, startedAt, endedAt: performance.now(), ok });
      // A failed fill is not retried from here (it would fail again at once, forever: warm() would never settle);
      // warm() reports it, and the next return or warm tries again.
      this.work.track(
        this.fill(tier)
          .finally(() => this.filling[tier]--)
          .then(
            () => {
              ended(true);
              this.scheduleRefill();
            },
            (e: unknown) => {
              ended(false);
              throw e;
            },
          ),
      );
    }
  }

  /** Waits until no background fill is running. */
  async settle(): Promise<void> {
    await this.work.settle();
  }

  /** Makes one idle entry of `tier` and records it; resolves with the time it took (ms). */
  async fill(tier: Tier): Promise<number> {
    const t0 = performance.now();
    const base = await this.init();
    if (tier === 'durable') await this.fillDurable(base);
    else await this.fillHot(base);
    return performance.now() - t0;
  }

  private async lease(): Promise<NetLease | undefined> {
    return usesNetwork(this.net) ? this.net.acquire() : undefined;
  }

  private async fillDurable(base: Checkpoint): Promise<void> {
    const id = this.newId();
    const net = await this.lease();
    const entry: EntryRecord = { id, tier: 'durable', status: 'idle', net, createdAt: new Date().toISOString() };
    try {
      entry.checkpoint = await this.copyCheckpoint(base, id);
    } catch (e) {
      if (net) await this.net.release(net.id).catch(() => undefined);
      throw e;
    }
    this.entries.push(entry);
    await this.save();
  }

  /** An entry's own checkpoint, cloned by the hypervisor from the template's (memory shared, device state copied). */
  private async copyCheckpoint(base: Checkpoint, id: string): Promise<Checkpoint> {
    if (!this.checkpoints.cloneCheckpoint)
      throw new Error(`the ${this.checkpoints.kind} backend cannot clone checkpoints: it serves no durable tier`);
    return this.checkpoints.cloneCheckpoint(base, join(this.dir, `${id}.state`));
  }

  private async fillHot(base: Checkpoint): Promise<void> {
    // Two-tier: the hot tier is fed from the cold tier when it has an entry.
    const cold = this.config.mode === 'two-tier' ? this.idle('durable')[0] : undefined;
    if (cold) {
      this.entries = this.entries.filter((e) => e !== cold);
      await this.save();
    }
    const id = cold?.id ?? this.newId();
    const net = cold ? cold.net : await this.lease();
    let vm: Vm | undefined;
    try {
      vm = await this.hv.restore(this.spec(id, net?.vm, 'template'), cold?.checkpoint ?? base);
      await this.configure(vm);
      await vm.probe(this.readinessProbe(PROBE_TIMEOUT_MS));
      await this.opts.warmHot?.(net?.vm);
      await vm.pause();
    } catch (e) {
      await vm?.destroy();
      if (net) await this.net.release(net.id).catch(() => undefined);
      if (cold?.checkpoint) await this.checkpoints.removeCheckpoint(cold.checkpoint);
      throw e;
    }
    if (cold?.checkpoint) await this.checkpoints.removeCheckpoint(cold.checkpoint);
    this.vms.set(id, vm);
    this.entries.push({ id, tier: 'hot', status: 'idle', vm: vm.record(), net, createdAt: new Date().toISOString() });
    await this.save();
    if (cold) this.scheduleRefill();
  }

  private async configure(vm: Vm): Promise<void> {
    const withNet = vm as Vm & { configureNetwork?: (timeoutMs?: number) => Promise<void> };
    if (vm.spec.network && withNet.configureNetwork) await withNet.configureNetwork(PROBE_TIMEOUT_MS);
  }

  // ---- checkout / return --------------------------------------------------------------------------------------

  private pick(): EntryRecord | undefined {
    switch (this.config.mode) {
      case 'full':
        return undefined;
      case 'prewarm':
        return this.idle('hot')[0];
      case 'durable':
        return this.idle('durable')[0];
      case 'two-tier':
        return this.idle('hot')[0] ?? this.idle('durable')[0];
    }
  }

  /**
   * Hands out a sandbox whose guest has answered its readiness probe. Concurrent calls never share an entry: the
   * entry is claimed synchronously, before the first await. An empty pool falls back to the template checkpoint
   * (or, in full mode, to a boot).
   */
  async checkout(options: CheckoutOptions = {}): Promise<CheckoutResult> {
    this.assertOpen();
    if (options.label !== undefined && !entryLabel.safeParse(options.label).success) {
      throw new PoolInputError(`invalid checkout label ${JSON.stringify(options.label)}: 1-64 of [A-Za-z0-9_.:-]`);
    }
    const entry = this.pick();
    if (entry) {
      entry.status = 'checked-out';
      entry.checkedOutAt = new Date().toISOString();
      if (options.label !== undefined) entry.label = options.label;
    }
    try {
      if (entry?.tier === 'hot') return await this.checkoutHot(entry, options.policy);
      if (entry?.tier === 'durable') return await this.checkoutDurable(entry, options.policy);
      return await this.checkoutFresh(options.policy, options.label);
    } catch (e) {
      if (entry) await this.dropEntry(entry);
      throw e;
    }
  }

  private async checkoutHot(entry: EntryRecord, policy: unknown): Promise<CheckoutResult> {
    const vm = this.vms.get(entry.id);
    if (!vm) throw new Error(`entry ${entry.id} has no VM`);
    // The guest's wake-up (milliseconds) is the critical path: SIGCONT first, then one journal line (a write(2)
    // that reaches the kernel before the sandbox is handed out; see PoolStateFile), no file rewrite. A controller
    // killed between SIGCONT and the line leaves an idle entry whose VM runs: reconcile stops it again.
    await vm.resume();
    const answered = vm.probe(this.readinessProbe(PROBE_TIMEOUT_MS));
    try {
      this.file.journalCheckout(entry.id, entry.checkedOutAt!, entry.label);
    } catch (e) {
      answered.catch(() => undefined);
      throw e;
    }
    await answered;
    const readyAt = performance.now();
    if (policy !== undefined && entry.net) await this.net.applyPolicy(entry.net.id, policy);
    return { id: entry.id, vm, source: 'hot', network: entry.net?.vm, readyAt };
  }

  private async checkoutDurable(entry: EntryRecord, policy: unknown): Promise<CheckoutResult> {
    const cp = entry.checkpoint;
    if (!cp) throw new Error(`entry ${entry.id} has no checkpoint`);
    const vm = await this.hv.restore(this.spec(entry.id, entry.net?.vm, 'template'), cp);
    this.vms.set(entry.id, vm);
    entry.vm = vm.record();
    const saved = this.save();
    await this.configure(vm);
    await vm.probe(this.readinessProbe(PROBE_TIMEOUT_MS));
    const readyAt = performance.now();
    entry.checkpoint = undefined;
    await this.checkpoints.removeCheckpoint(cp);
    if (policy !== undefined && entry.net) await this.net.applyPolicy(entry.net.id, policy);
    await saved;
    await this.save();
    return { id: entry.id, vm, source: 'durable', network: entry.net?.vm, readyAt };
  }

  private async checkoutFresh(policy: unknown, label: string | undefined): Promise<CheckoutResult> {
    const full = this.config.mode === 'full';
    if (!full && !this.base)
      throw new PoolInputError(`pool "${this.config.template}" is empty and has no template checkpoint: warm it first`);
    const id = this.newId();
    const net = await this.lease();
    const entry: EntryRecord = {
      id,
      tier: 'boot',
      status: 'checked-out',
      net,
      createdAt: new Date().toISOString(),
      checkedOutAt: new Date().toISOString(),
      ...(label !== undefined ? { label } : {}),
    };
    let vm: Vm | undefined;
    try {
      vm = full
        ? await this.hv.boot(this.spec(id, net?.vm, 'private'))
        : await this.hv.restore(this.spec(id, net?.vm, 'template'), this.base!);
      this.vms.set(id, vm);
      entry.vm = vm.record();
      this.entries.push(entry);
      const saved = this.save();
      if (!full) await this.configure(vm);
      await vm.probe(this.readinessProbe(full ? BOOT_PROBE_TIMEOUT_MS : PROBE_TIMEOUT_MS));
      const readyAt = performance.now();
      if (policy !== undefined && net) await this.net.applyPolicy(net.id, policy);
      await saved;
      return { id, vm, source: full ? 'boot' : 'template', network: net?.vm, readyAt };
    } catch (e) {
      this.entries = this.entries.filter((x) => x !== entry);
      this.vms.delete(id);
      await vm?.destroy();
      if (net) await this.net.release(net.id).catch(() => undefined);
      await this.save();
      throw e;
    }
  }

  private readinessProbe(timeoutMs: number): ProbeOptions {
    const r = this.config.readiness;
    return r?.via === 'http' ? { timeoutMs, via: 'http', http: { port: r.port, path: r.path } } : { timeoutMs };
  }

  private entryIn(id: string, status: EntryRecord['status']): EntryRecord {
    const entry = this.entries.find((e) => e.id === id);
    if (!entry) throw new PoolInputError(`"${id}" is not an entry of pool "${this.config.template}"`);
    if (entry.status !== status) throw new PoolInputError(`entry ${id} is ${entry.status}, not ${status}`);
    return entry;
  }

  /**
   * Pauses a checked-out sandbox to disk: its whole state (guest memory, devices and disk layer) becomes a
   * checkpoint of its own, its VM is destroyed, and its network lease is kept, so a resume wakes it on the same
   * tap with the same addresses and policy. The state file records the entry paused before the VM goes.
   */
  async suspend(id: string): Promise<{ checkpointBytes: number }> {
    this.assertOpen();
    const entry = this.entryIn(id, 'checked-out');
    const vm = this.vms.get(id);
    if (!vm) throw new Error(`entry ${id} has no VM`);
    const cp = await vm.checkpoint(join(this.dir, `${id}.state`));
    Object.assign(entry, { status: 'paused', checkpoint: cp, vm: undefined });
    this.vms.delete(id);
    await this.save();
    await vm.destroy();
    return { checkpointBytes: cp.bytes };
  }

  /** Restores a paused sandbox from its own checkpoint on its kept lease; resolves once its guest is ready. */
  async resume(id: string): Promise<CheckoutResult> {
    this.assertOpen();
    const entry = this.entryIn(id, 'paused');
    const cp = entry.checkpoint;
    if (!cp) throw new Error(`paused entry ${id} has no checkpoint`);
    const vm = await this.hv.restore(this.spec(id, entry.net?.vm, cp.memory), cp);
    try {
      await vm.probe(this.readinessProbe(PROBE_TIMEOUT_MS));
    } catch (e) {
      await vm.destroy();
      throw e;
    }
    const readyAt = performance.now();
    this.vms.set(id, vm);
    Object.assign(entry, { status: 'checked-out', vm: vm.record(), checkpoint: undefined });
    await this.save();
    await this.checkpoints.removeCheckpoint(cp);
    return { id, vm, source: 'durable', network: entry.net?.vm, readyAt };
  }

  /**
   * Destroys a checked-out sandbox and refills in the background (`settle()` waits for it): by the pool's refill
   * policy, or as `options.refill` says.
   */
  async return(id: string, options: { refill?: boolean } = {}): Promise<void> {
    this.assertOpen();
    const entry = this.entries.find((e) => e.id === id);
    if (!entry) throw new PoolInputError(`"${id}" is not an entry of pool "${this.config.template}"`);
    if (entry.status === 'idle') throw new PoolInputError(`entry ${id} is not checked out (it is idle)`);
    await this.dropEntry(entry);
    if (options.refill ?? this.config.refill === 'on-return') this.scheduleRefill();
  }

  /** Removes an entry everywhere: VM, checkpoint files, network lease, state. */
  private async dropEntry(entry: EntryRecord): Promise<void> {
    this.entries = this.entries.filter((e) => e !== entry);
    const vm = this.vms.get(entry.id);
    this.vms.delete(entry.id);
    if (vm) await vm.destroy();
    else if (entry.vm) await this.hv.cleanup(entry.vm);
    if (entry.checkpoint) await this.checkpoints.removeCheckpoint(entry.checkpoint);
    if (entry.net) await this.net.release(entry.net.id).catch((e: Error) => this.work.fail(e));
    await this.save();
  }

  /** Destroys every idle entry (checked-out sandboxes stay until returned); with `base`, the template checkpoint too. */
  async drain(options: { base?: boolean } = {}): Promise<number> {
    this.assertOpen();
    for (const t of tiersOf(this.config.mode)) this.config.size[t] = 0;
    await this.settle();
    const idle = this.entries.filter((e) => e.status === 'idle');
    for (const e of idle) await this.dropEntry(e);
    if (options.base && this.base && !this.entries.some((e) => e.status === 'checked-out' && e.checkpoint)) {
      await this.checkpoints.removeCheckpoint(this.base);
      this.base = undefined;
      await this.save();
    }
    // The template's run folder holds one folder per live VM: with none left it goes too (rmdir: never a live VM's).
    if (!this.entries.some((e) => e.vm))
      await rmdir(join(this.config.runRoot, this.config.template)).catch(() => undefined);
    return idle.length;
  }

  /** Switches configuration, keeping the template checkpoint: drains the idle entries first. */
  async reconfigure(mode: PoolMode, size: { hot: number; durable: number }): Promise<void> {
    await this.drain();
    validatePoolConfig({ ...this.config, mode, size });
    this.config.mode = mode;
    this.config.size = { ...size };
    await this.save();
  }

  /** Drains, returns every checked-out sandbox, removes the template checkpoint, the state file and the pool's folders. */
  async destroyAll(): Promise<void> {
    await this.drain();
    for (const e of [...this.entries]) await this.dropEntry(e);
    if (this.base) await this.checkpoints.removeCheckpoint(this.base);
    this.base = undefined;
    await this.file.remove();
    this.destroyed = true;
    await rm(this.dir, { recursive: true, force: true });
    await rm(join(this.config.runRoot, this.config.template), { recursive: true, force: true });
  }

  list(): EntryView[] {
    return this.entries.map((e) => ({
      id: e.id,
      tier: e.tier,
      status: e.status,
      ...(e.label !== undefined ? { label: e.label } : {}),
      pid: e.vm?.pid,
      address: e.net?.vm.address,
      checkpointBytes: e.checkpoint?.bytes,
      createdAt: e.createdAt,
    }));
  }

  get hasBase(): boolean {
    return this.base !== undefined;
  }

  vmOf(id: string): Vm | undefined {
    return this.vms.get(id);
  }

  /** Waits for background work and gives up the lock. VMs and checkpoints stay for the next controller. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.settle();
    // After destroyAll there is nothing to record (a save would make the state file again).
    if (!this.destroyed) await this.save();
    await this.file.close();
    for (const vm of this.vms.values()) vm.disconnect?.();
    await this.unlock();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`pool "${this.config.template}" is closed`);
  }

  private async reconcile(): Promise<ReconcileReport> {
    const { base, entries, vms, report } = await reconcilePool(
      {
        template: this.config.template,
        checkpointDir: this.dir,
        runDir: join(this.config.runRoot, this.config.template),
        base: this.base,
        entries: this.entries,
        imageName: this.config.image.name,
      },
      this.hv,
      this.net,
    );
    this.base = base;
    this.entries = entries;
    for (const [id, vm] of vms) this.vms.set(id, vm);
    return report;
  }
}
