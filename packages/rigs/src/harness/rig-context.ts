import type { ChildProcess, SpawnOptions } from 'node:child_process';
import type { CommandRunner } from '@coppice/runtime';
import type { HostInfo, Platform, RigManifest } from '@coppice/results-schema';

/**
 * The contract between the harness and a rig. A rig lives in `src/rigs/<id>/`: `manifest.ts` (pure data, the only
 * part the site imports) and `rig.ts` (the zx script), which exports
 *
 *   export async function preflight(ctx: PreflightContext): Promise<string[]>   // optional: reasons it can't run
 *   export async function run(ctx: RigContext): Promise<void>
 *
 * The harness checks the manifest's requirements (platform, root, binaries) before calling `preflight`; any reason
 * returned skips the rig and writes nothing. A rig that throws, or is interrupted (Ctrl-C, SIGTERM, an uncaught
 * exception), writes nothing either; its deferred cleanups run in every case.
 */
export interface PreflightContext {
  platform: Platform;
  quick: boolean;
  runner: CommandRunner;
  manifest: RigManifest;
}

export interface SeriesRecorder {
  /** Records one raw sample (in the metric's unit). */
  add(sample: number): void;
  /** Records a failed attempt; its index is the attempt's position in the series. */
  fail(error: unknown): void;
  readonly count: number;
}

export interface RepeatOptions {
  /** Progress phase name shown while it runs, e.g. "rtt ipv4". */
  phase: string;
  /** Unrecorded runs first. */
  warmup: number;
  /** Recorded runs. */
  count: number;
  series: SeriesRecorder;
}

export interface RigContext extends PreflightContext {
  host: HostInfo;
  /** The manifest's sample count for this mode (`samples.quick` with --quick, else `samples.full`). */
  readonly samples: number;
  /** Parameters of this run, stored in run.params (set keys with `param`). */
  readonly params: Record<string, unknown>;
  param<T>(name: string, value: T): T;
  /** The series for a metric and labels (created on first call; metric/labels are checked against the manifest). */
  series(metric: string, labels?: Record<string, string>): SeriesRecorder;
  /** Records a pass/fail check named in the manifest. */
  check(name: string, ok: boolean, detail: string): void;
  /** Reports progress: phase, samples done of total (the harness adds elapsed time and prints). */
  progress(phase: string, done: number, total: number): void;
  log(message: string): void;
  /**
   * Runs `measure` warmup + count times, one after another; each resolved number is a sample, each throw a recorded
   * failure. Reports progress.
   */
  repeat(options: RepeatOptions, measure: (index: number) => Promise<number>): Promise<void>;
  /**
   * Releases `cc` calls of `measure` together (all start in the same tick)
   * and records each call's result as one sample (or failure).
   */
  concurrent(
    options: { phase: string; cc: number; series: SeriesRecorder },
    measure: (index: number) => Promise<number>,
  ): Promise<void>;
  /**
   * Starts a long-running helper process (a server, a paused child) that the harness tracks by pid and ends
   * (SIGTERM + SIGCONT, then SIGKILL): after the rig's deferred cleanups when the rig ends or fails, and at once on
   * an interruption (so whatever the rig awaits on it settles). argv is a list, each word passed as is (started with
   * zx: harness/child-processes.ts); stdio defaults to ['ignore', 'pipe', 'pipe']. Short commands go through
   * `runner` instead.
   */
  spawn(argv: readonly string[], options?: Pick<SpawnOptions, 'stdio' | 'env' | 'cwd'>): ChildProcess;
  /** Adds a host fact to this run's provenance (host.facts), e.g. a sysctl the rig depends on. */
  fact(name: string, value: string): void;
  /** Registers cleanup that runs when the rig ends, fails or is interrupted (last registered runs first). */
  defer(cleanup: () => Promise<void> | void): void;
  /** Aborted on Ctrl-C / SIGTERM: long loops must check it. */
  signal: AbortSignal;
  /** A private temporary folder for this run, removed afterwards. */
  tmpdir: string;
  /** Repo root (absolute). */
  repoRoot: string;
}

export interface RigModule {
  preflight?: (ctx: PreflightContext) => Promise<string[]>;
  run: (ctx: RigContext) => Promise<void>;
}
