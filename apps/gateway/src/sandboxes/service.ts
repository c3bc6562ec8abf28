/**
 * The sandbox lifecycle over a backend, with the store as the record of truth. Every change is written to the store
 * before the backend acts (a `creating`, `pausing`, `resuming` or `killing` row), so a gateway killed at any point
 * leaves a row that `reconcile` on the next start can finish or roll back.
 */
import { ApiError, notFound } from '../errors.ts';
import { newSandboxId, newToken } from '../ids.ts';
import type { Store } from '../store/store.ts';
import type { SandboxNetwork, SandboxRecord, SandboxState, Team } from '../store/types.ts';
import type { MetricSample, SandboxBackend, SandboxSpec, TemplateSpec } from './backend.ts';
import type { CapacityLimits } from './limits.ts';
import { SandboxTimers } from './timers.ts';

export interface CreateRequest {
  templateId: string;
  timeoutSeconds: number;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  network: SandboxNetwork;
  autoPause: boolean;
}

export interface ReconcileReport {
  adopted: string[];
  rolledBack: string[];
  lost: string[];
  orphansKilled: string[];
}

const METRIC_HISTORY = 720;

export class SandboxService {
  private readonly timers: SandboxTimers;
  private readonly metrics = new Map<string, MetricSample[]>();
  private sampler: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly store: Store,
    private readonly backend: SandboxBackend,
    private readonly limits: CapacityLimits,
    private readonly clientId: string,
    options: { metricsIntervalMs?: number } = {},
  ) {
    this.timers = new SandboxTimers((id) => this.track(this.expire(id)));
    for (const t of backend.templates()) this.store.upsertTemplate({ ...t, createdAt: Date.now() });
    const every = options.metricsIntervalMs ?? 5000;
    if (every > 0) {
      this.sampler = setInterval(() => this.track(this.sampleAll()), every);
      this.sampler.unref();
    }
  }

  templates(): TemplateSpec[] {
    return this.backend.templates();
  }

  private template(idOrAlias: string): TemplateSpec {
    const t = this.backend.templates().find((x) => x.id === idOrAlias || x.aliases.includes(idOrAlias));
    if (!t) throw new ApiError(404, `template '${idOrAlias}' not found`);
    return t;
  }

  /** A sandbox of `team`, or 404: another team's sandbox is indistinguishable from none. */
  get(team: Team, id: string): SandboxRecord {
    const s = this.store.getSandbox(id);
    if (!s || s.teamId !== team.id) throw notFound(`sandbox '${id}'`);
    return s;
  }

  private spec(s: SandboxRecord): SandboxSpec {
    return { id: s.id, templateId: s.templateId, envVars: s.envVars, envdToken: s.envdToken, network: s.network };
  }

  private checkCapacity(team: Team, template: TemplateSpec): void {
    const running = this.store.countSandboxes();
    if (running >= this.limits.maxSandboxes) {
      throw new ApiError(429, `host limit reached: ${running} of ${this.limits.maxSandboxes} sandboxes running`, 5);
    }
    const mine = this.store.countSandboxes(team.id);
    if (mine >= this.limits.maxSandboxesPerTeam) {
      throw new ApiError(429, `team limit reached: ${mine} of ${this.limits.maxSandboxesPerTeam} sandboxes running`, 5);
    }
    const committed = this.store
      .allSandboxes()
      .filter((s) => s.state !== 'paused')
      .reduce((sum, s) => sum + s.memoryMB, 0);
    if (committed + template.memoryMB > this.limits.maxMemoryMB) {
      throw new ApiError(
        429,
        `host memory limit reached: ${committed} MiB of ${this.limits.maxMemoryMB} MiB committed, a ${template.id} sandbox needs ${template.memoryMB} MiB`,
        5,
      );
    }
  }

  private checkTimeout(seconds: number): void {
    if (seconds > this.limits.maxTimeoutSeconds) {
      throw new ApiError(400, `timeout ${seconds} s is longer than the limit of ${this.limits.maxTimeoutSeconds} s`);
    }
  }

  async create(team: Team, req: CreateRequest): Promise<SandboxRecord> {
    const template = this.template(req.templateId);
    this.checkTimeout(req.timeoutSeconds);
    this.checkCapacity(team, template);
    const now = Date.now();
    const record: SandboxRecord = {
      id: newSandboxId(),
      teamId: team.id,
      templateId: template.id,
      clientId: this.clientId,
      state: 'creating',
      metadata: req.metadata,
      envVars: req.envVars,
      envdToken: newToken(),
      trafficToken: newToken(),
      network: req.network,
      autoPause: req.autoPause,
      startedAt: now,
      endAt: now + req.timeoutSeconds * 1000,
      address: null,
      cpuCount: template.cpuCount,
      memoryMB: template.memoryMB,
      diskMB: template.diskMB,
      envdVersion: template.envdVersion,
    };
    this.store.insertSandbox(record);
    let address: string;
    try {
      ({ address } = await this.backend.create(this.spec(record)));
    } catch (e) {
      await this.backend.kill(record.id).catch(() => undefined);
      this.store.deleteSandbox(record.id);
      this.store.addEvent({
        teamId: team.id,
        sandboxId: record.id,
        type: 'create-failed',
        detail: { error: String(e) },
      });
      throw new ApiError(503, `sandbox could not be started: ${e instanceof Error ? e.message : String(e)}`);
    }
    // The API clock started before the checkout: a sandbox's timeout runs from when it is handed out.
    const endAt = Date.now() + req.timeoutSeconds * 1000;
    this.store.transition(record.id, ['creating'], 'running', { address, endAt });
    this.store.addEvent({ teamId: team.id, sandboxId: record.id, type: 'created', detail: { template: template.id } });
    this.timers.arm(record.id, endAt);
    return { ...record, state: 'running', address, endAt };
  }

  async kill(team: Team, id: string): Promise<void> {
    const s = this.get(team, id);
    await this.destroy(s, 'killed');
  }

  private async destroy(s: SandboxRecord, reason: string): Promise<void> {
    if (!this.store.transition(s.id, ['running', 'paused'], 'killing')) {
      throw new ApiError(409, `sandbox '${s.id}' is ${this.store.getSandbox(s.id)?.state ?? 'gone'}; try again`);
    }
    this.timers.disarm(s.id);
    await this.finishKill(s.id);
    this.store.addEvent({ teamId: s.teamId, sandboxId: s.id, type: reason, detail: {} });
  }

  private async finishKill(id: string): Promise<void> {
    await this.backend.kill(id);
    const snapshot = this.store.getSnapshot(id);
    if (snapshot) await this.backend.discard(snapshot);
    this.metrics.delete(id);
    this.store.deleteSandbox(id);
  }

  async setTimeout(team: Team, id: string, seconds: number): Promise<void> {
    const s = this.get(team, id);
    this.checkTimeout(seconds);
    const endAt = Date.now() + seconds * 1000;
    this.store.setEndAt(s.id, endAt);
    if (s.state === 'running') this.timers.arm(s.id, endAt);
  }

  async pause(team: Team, id: string): Promise<void> {
    const s = this.get(team, id);
    if (s.state === 'paused') throw new ApiError(409, `sandbox '${id}' is already paused`);
    await this.pauseRecord(s);
  }

  private async pauseRecord(s: SandboxRecord): Promise<void> {
    if (!this.store.transition(s.id, ['running'], 'pausing')) {
      throw new ApiError(409, `sandbox '${s.id}' is ${this.store.getSandbox(s.id)?.state ?? 'gone'}, not running`);
    }
    this.timers.disarm(s.id);
    try {
      const { location } = await this.backend.pause(s.id);
      this.store.putSnapshot(s.id, location);
      this.store.transition(s.id, ['pausing'], 'paused', { address: null });
      this.store.addEvent({ teamId: s.teamId, sandboxId: s.id, type: 'paused', detail: {} });
    } catch (e) {
      this.store.transition(s.id, ['pausing'], 'running');
      this.timers.arm(s.id, s.endAt);
      throw new ApiError(500, `pause failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Connect: a running sandbox gets its timeout extended (200); a paused one is resumed (201). */
  async connect(
    team: Team,
    id: string,
    timeoutSeconds: number | undefined,
  ): Promise<{ record: SandboxRecord; resumed: boolean }> {
    const s = this.get(team, id);
    if (timeoutSeconds !== undefined) this.checkTimeout(timeoutSeconds);
    const endAt = timeoutSeconds !== undefined ? Date.now() + timeoutSeconds * 1000 : undefined;
    if (s.state === 'running') {
      if (endAt !== undefined && endAt > s.endAt) {
        this.store.setEndAt(s.id, endAt);
        this.timers.arm(s.id, endAt);
      }
      return { record: this.get(team, id), resumed: false };
    }
    if (s.state !== 'paused') throw new ApiError(409, `sandbox '${id}' is ${s.state}; try again`);
    const template = this.template(s.templateId);
    this.checkCapacity(team, template);
    const location = this.store.getSnapshot(s.id);
    if (!location) throw new ApiError(500, `sandbox '${id}' is paused but its snapshot is not recorded`);
    if (!this.store.transition(s.id, ['paused'], 'resuming'))
      throw new ApiError(409, `sandbox '${id}' is being changed; try again`);
    try {
      const { address } = await this.backend.resume(this.spec(s), location);
      const newEnd = endAt ?? Date.now() + 300_000;
      this.store.transition(s.id, ['resuming'], 'running', { address, endAt: newEnd });
      this.store.deleteSnapshot(s.id);
      this.timers.arm(s.id, newEnd);
      this.store.addEvent({ teamId: s.teamId, sandboxId: s.id, type: 'resumed', detail: {} });
      return { record: this.get(team, id), resumed: true };
    } catch (e) {
      this.store.transition(s.id, ['resuming'], 'paused');
      throw new ApiError(500, `resume failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  list(
    team: Team,
    filter: {
      states?: SandboxState[];
      metadata?: Record<string, string>;
      templateId?: string;
      limit: number;
      after?: { startedAt: number; id: string };
    },
  ): SandboxRecord[] {
    return this.store.listSandboxes({ teamId: team.id, ...filter });
  }

  metricsOf(team: Team, id: string, start?: number, end?: number): MetricSample[] {
    this.get(team, id);
    return (this.metrics.get(id) ?? []).filter(
      (m) => (start === undefined || m.timestampUnix >= start) && (end === undefined || m.timestampUnix <= end),
    );
  }

  /** Takes one metric sample of every running sandbox now (also run on the sampling interval). */
  async sampleAll(): Promise<void> {
    const running = this.store.allSandboxes().filter((s) => s.state === 'running');
    await Promise.all(
      running.map(async (s) => {
        const sample = await this.backend.sample(this.spec(s)).catch(() => undefined);
        if (!sample) return;
        const history = this.metrics.get(s.id) ?? [];
        history.push(sample);
        if (history.length > METRIC_HISTORY) history.shift();
        this.metrics.set(s.id, history);
      }),
    );
  }

  /** A sandbox is looked up for routing: its address when it is running. */
  route(id: string): SandboxRecord | undefined {
    const s = this.store.getSandbox(id);
    return s?.state === 'running' ? s : undefined;
  }

  private async expire(id: string): Promise<void> {
    const s = this.store.getSandbox(id);
    if (!s || s.state !== 'running') return;
    if (s.endAt > Date.now() + 50) {
      this.timers.arm(id, s.endAt); // extended meanwhile
      return;
    }
    try {
      if (s.autoPause) await this.pauseRecord(s);
      else await this.destroy(s, 'timed-out');
    } catch (e) {
      this.store.addEvent({ teamId: s.teamId, sandboxId: s.id, type: 'expire-failed', detail: { error: String(e) } });
    }
  }

  /**
   * After a restart (or a SIGKILL): running sandboxes the backend still holds are re-adopted with their timers,
   * paused ones stay resumable, and every half-done change is finished or rolled back. Backend sandboxes without a
   * record are killed.
   */
  async reconcile(): Promise<ReconcileReport> {
    const report: ReconcileReport = { adopted: [], rolledBack: [], lost: [], orphansKilled: [] };
    const inventory = await this.backend.inventory();
    const running = new Set(inventory.running);
    const snapshots = new Set(inventory.snapshots);
    const known = new Set<string>();
    for (const s of this.store.allSandboxes()) {
      known.add(s.id);
      switch (s.state) {
        case 'creating':
        case 'killing':
          await this.finishKill(s.id);
          report.rolledBack.push(s.id);
          break;
        case 'pausing':
        case 'resuming':
          if (running.has(s.id)) {
            this.store.transition(s.id, [s.state], 'running');
            this.timers.arm(s.id, s.endAt);
            report.adopted.push(s.id);
          } else if (this.store.getSnapshot(s.id)) {
            this.store.transition(s.id, [s.state], 'paused', { address: null });
            report.adopted.push(s.id);
          } else {
            await this.finishKill(s.id);
            report.lost.push(s.id);
          }
          break;
        case 'running':
          if (running.has(s.id)) {
            this.timers.arm(s.id, s.endAt);
            report.adopted.push(s.id);
          } else {
            await this.finishKill(s.id);
            report.lost.push(s.id);
          }
          break;
        case 'paused': {
          const location = this.store.getSnapshot(s.id);
          if (location && snapshots.has(location)) report.adopted.push(s.id);
          else {
            await this.finishKill(s.id);
            report.lost.push(s.id);
          }
          break;
        }
      }
    }
    for (const id of running) {
      if (!known.has(id)) {
        await this.backend.kill(id);
        report.orphansKilled.push(id);
      }
    }
    this.store.addEvent({ teamId: null, sandboxId: null, type: 'reconciled', detail: { ...report } });
    return report;
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.sampler) clearInterval(this.sampler);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
  }
}
