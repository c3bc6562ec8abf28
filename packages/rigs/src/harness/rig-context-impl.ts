import type { HostInfo, RigManifest } from '@coppice/results-schema';
import type { CommandRunner } from '@coppice/runtime';
import type { ChildProcesses } from './child-processes.ts';
import type { Progress } from './progress.ts';
import type { RepeatOptions, RigContext, SeriesRecorder } from './rig-context.ts';
import { SeriesSet } from './series.ts';

export interface ContextDeps {
  manifest: RigManifest;
  quick: boolean;
  runner: CommandRunner;
  host: HostInfo;
  progress: Progress;
  children: ChildProcesses;
  signal: AbortSignal;
  tmpdir: string;
  repoRoot: string;
}

/** The harness's side of the RigContext contract: what one rig run records and owns. */
export class HarnessContext implements RigContext {
  readonly platform: RigContext['platform'];
  readonly quick: boolean;
  readonly runner: CommandRunner;
  readonly manifest: RigManifest;
  readonly host: HostInfo;
  readonly samples: number;
  readonly signal: AbortSignal;
  readonly tmpdir: string;
  readonly repoRoot: string;
  readonly seriesSet: SeriesSet;
  readonly checks: { name: string; ok: boolean; detail: string }[] = [];
  readonly deferred: (() => Promise<void> | void)[] = [];
  private readonly paramValues: Record<string, unknown>;

  constructor(private readonly deps: ContextDeps) {
    this.manifest = deps.manifest;
    this.quick = deps.quick;
    this.runner = deps.runner;
    // The host record is the run's own copy: rigs may add facts to it.
    this.host = { ...deps.host, facts: { ...deps.host.facts }, tools: { ...deps.host.tools } };
    this.platform = deps.host.platform;
    this.samples = deps.quick ? deps.manifest.samples.quick : deps.manifest.samples.full;
    this.signal = deps.signal;
    this.tmpdir = deps.tmpdir;
    this.repoRoot = deps.repoRoot;
    this.seriesSet = new SeriesSet(deps.manifest);
    this.paramValues = { quick: deps.quick };
  }

  get params(): Record<string, unknown> {
    return this.paramValues;
  }

  param<T>(name: string, value: T): T {
    if (name === 'quick' || name === 'subsampled') throw new Error(`run parameter "${name}" is set by the harness`);
    this.paramValues[name] = value;
    return value;
  }

  series(metric: string, labels?: Record<string, string>): SeriesRecorder {
    return this.seriesSet.get(metric, labels);
  }

  check(name: string, ok: boolean, detail: string): void {
    if (!this.manifest.checks.includes(name)) {
      throw new Error(`rig ${this.manifest.id} has no check "${name}" in its manifest`);
    }
    this.checks.push({ name, ok, detail });
  }

  fact(name: string, value: string): void {
    this.host.facts[name] = value;
  }

  progress(phase: string, done: number, total: number): void {
    this.deps.progress.update(phase, done, total);
  }

  log(message: string): void {
    this.deps.progress.log(message);
  }

  async repeat(options: RepeatOptions, measure: (index: number) => Promise<number>): Promise<void> {
    const { phase, warmup, count, series } = options;
    const total = warmup + count;
    for (let i = 0; i < total; i++) {
      this.signal.throwIfAborted();
      this.progress(
        i < warmup ? `${phase} (warm-up)` : phase,
        i < warmup ? i : i - warmup,
        i < warmup ? warmup : count,
      );
      if (i < warmup) {
        // Warm-up results are discarded, and so are its failures: a failing measurement fails again when recorded.
        await measure(i).catch(() => undefined);
        continue;
      }
      try {
        series.add(await measure(i - warmup));
      } catch (e) {
        this.signal.throwIfAborted();
        series.fail(e);
      }
    }
    this.progress(phase, count, count);
  }

  async concurrent(
    options: { phase: string; cc: number; series: SeriesRecorder },
    measure: (index: number) => Promise<number>,
  ): Promise<void> {
    const { phase, cc, series } = options;
    if (!Number.isInteger(cc) || cc < 1) throw new Error(`concurrent: cc must be a positive integer, got ${cc}`);
    this.signal.throwIfAborted();
    this.progress(phase, 0, cc);
    let done = 0;
    // Every call starts in this same synchronous loop, so all cc requests are released together.
    const calls = Array.from({ length: cc }, (_, i) =>
      (async () => measure(i))().finally(() => this.progress(phase, ++done, cc)),
    );
    const settled = await Promise.allSettled(calls);
    this.signal.throwIfAborted();
    for (const s of settled) {
      if (s.status === 'fulfilled') series.add(s.value);
      else series.fail(s.reason);
    }
  }

  spawn(argv: readonly string[], options?: Parameters<RigContext['spawn']>[1]) {
    this.signal.throwIfAborted();
    return this.deps.children.spawn(argv, options);
  }

  defer(cleanup: () => Promise<void> | void): void {
    this.deferred.push(cleanup);
  }

  /** Runs the deferred cleanups, last registered first; every one runs even if another fails. */
  async runDeferred(): Promise<string[]> {
    const errors: string[] = [];
    while (this.deferred.length > 0) {
      const cleanup = this.deferred.pop() as () => Promise<void> | void;
      try {
        await cleanup();
      } catch (e) {
        errors.push(e instanceof Error ? e.message : String(e));
      }
    }
    return errors;
  }
}
