import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { HostInfo, ResultFile, RigManifest } from '@coppice/results-schema';
import type { CommandRunner } from '@coppice/runtime';
import { childPids, describeProcess, terminate } from '@coppice/runtime/host';
import { ChildProcesses } from './child-processes.ts';
import type { Progress } from './progress.ts';
import { gitState, sha256File } from './provenance.ts';
import { unmetRequirements, type HostCapabilities } from './requirements.ts';
import { HarnessContext } from './rig-context-impl.ts';
import type { PreflightContext, RigModule } from './rig-context.ts';
import { errorMessage } from './series.ts';
import { writeResultFile } from './result-file-writer.ts';

export type RigOutcome =
  | { rig: string; status: 'captured'; file: string; seconds: number }
  | { rig: string; status: 'skipped'; reason: string }
  | { rig: string; status: 'failed'; reason: string; seconds?: number };

export interface RunRigOptions {
  manifest: RigManifest;
  outDir: string;
  quick: boolean;
  repoRoot: string;
  runner: CommandRunner;
  capabilities: HostCapabilities;
  /** Host provenance for this rig (gathered when the rig is about to run, with the tools it needs). */
  host: (manifest: RigManifest) => Promise<HostInfo>;
  progress: Progress;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
  /** The command line recorded in run.command. */
  command: string;
  /** Also end any other direct child of this process still running when the rig ends (the CLI sets this). */
  killStrayChildren?: boolean;
  /** After an abort, how long the rig gets to unwind before its cleanups run anyway. */
  abortGraceMs?: number;
}

/**
 * Runs one rig: requirements and the rig's own preflight (an unmet one skips it, writing nothing), then the rig with
 * its context, then its deferred cleanups and the end of every process it started (whatever happened), then an
 * atomic, schema-validated write. A failure or an interruption at any point writes nothing.
 */
export async function runRig(options: RunRigOptions): Promise<RigOutcome> {
  const { manifest, capabilities } = options;
  const rig = manifest.id;
  const unmet = unmetRequirements(manifest, capabilities);
  if (unmet.length > 0) return { rig, status: 'skipped', reason: unmet.join('; ') };

  const scriptPath = join(options.repoRoot, manifest.script);
  let module: RigModule;
  let sourceSha256: string;
  try {
    sourceSha256 = await sha256File(scriptPath);
    module = (await import(pathToFileURL(scriptPath).href)) as RigModule;
    if (typeof module.run !== 'function') throw new Error(`${manifest.script} exports no run(ctx) function`);
  } catch (e) {
    return { rig, status: 'failed', reason: `cannot load ${manifest.script}: ${errorMessage(e)}` };
  }

  const preflightCtx: PreflightContext = {
    platform: capabilities.platform,
    quick: options.quick,
    runner: options.runner,
    manifest,
  };
  try {
    const reasons = (await module.preflight?.(preflightCtx)) ?? [];
    if (reasons.length > 0) return { rig, status: 'skipped', reason: reasons.join('; ') };
  } catch (e) {
    return { rig, status: 'failed', reason: `preflight failed: ${errorMessage(e)}` };
  }
  if (options.signal.aborted) return { rig, status: 'failed', reason: interruptedReason(options.signal) };

  let host: HostInfo;
  let git: { commit: string; dirty: boolean };
  try {
    [host, git] = await Promise.all([options.host(manifest), gitState(options.runner, options.repoRoot)]);
  } catch (e) {
    return { rig, status: 'failed', reason: `cannot capture host provenance: ${errorMessage(e)}` };
  }

  if (options.signal.aborted) return { rig, status: 'failed', reason: interruptedReason(options.signal) };

  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  const startedAt = new Date().toISOString();
  const children = new ChildProcesses();
  const workdir = await mkdtemp(join(tmpdir(), `coppice-${rig}-`));
  const ctx = new HarnessContext({
    manifest,
    quick: options.quick,
    runner: options.runner,
    host,
    progress: options.progress,
    children,
    signal: options.signal,
    tmpdir: workdir,
    repoRoot: options.repoRoot,
  });

  // Children that exist before the rig starts (none in the CLI, but a host process may have its own) are not its.
  const childrenBefore = new Set(
    options.killStrayChildren
      ? await childPids(process.pid, capabilities.platform, options.runner).catch(() => [])
      : [],
  );
  // A reviewer must see whether the host was busy while the rig measured it.
  const loadAtStart = loadavg()[0];
  options.progress.start(rig);
  let failure: string | undefined;
  const onAbort = () => {
    // Killing what the rig started makes its pending awaits fail fast, so it unwinds into its cleanups.
    void children.terminateAll(500);
    if (options.killStrayChildren) void endStrayChildren(capabilities, options.runner, childrenBefore, 500);
  };
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await settleWithin(module.run(ctx), options.signal, options.abortGraceMs ?? 10_000);
  } catch (e) {
    failure = errorMessage(e);
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    options.progress.end();
    const cleanupErrors = await ctx.runDeferred();
    // Helpers started with ctx.spawn are ended here by contract; only untracked children are worth a message.
    await children.terminateAll();
    if (options.killStrayChildren) {
      const strays = await endStrayChildren(capabilities, options.runner, childrenBefore, 1000);
      if (strays.length > 0) options.progress.log(`ended stray child process ${strays.join(', ')}`);
    }
    await rm(workdir, { recursive: true, force: true });
    if (cleanupErrors.length > 0) {
      const cleanup = `cleanup failed: ${cleanupErrors.join('; ')}`;
      failure = failure ? `${failure}; ${cleanup}` : cleanup;
    }
  }
  if (options.signal.aborted)
    return { rig, status: 'failed', reason: interruptedReason(options.signal), seconds: seconds() };
  if (failure !== undefined) return { rig, status: 'failed', reason: failure, seconds: seconds() };

  const series = ctx.seriesSet.toSeries();
  if (series.length === 0 && ctx.checks.length === 0) {
    return { rig, status: 'failed', reason: 'the rig recorded no series and no checks', seconds: seconds() };
  }
  const file: ResultFile = {
    schemaVersion: 1,
    rig: { id: rig, script: manifest.script, sourceSha256 },
    run: {
      id: `${rig}-${startedAt.replace(/[-:.]/g, '').toLowerCase()}-${process.pid}`,
      startedAt,
      finishedAt: new Date().toISOString(),
      git,
      command: options.command,
      params: { ...ctx.params, loadAverage1m: { start: loadAtStart, end: loadavg()[0] } },
    },
    host: ctx.host,
    series,
    ...(manifest.checks.length > 0 || ctx.checks.length > 0 ? { checks: ctx.checks } : {}),
  };
  try {
    const path = await writeResultFile(options.outDir, file, { signal: options.signal });
    return { rig, status: 'captured', file: path, seconds: seconds() };
  } catch (e) {
    if (options.signal.aborted)
      return { rig, status: 'failed', reason: interruptedReason(options.signal), seconds: seconds() };
    return { rig, status: 'failed', reason: errorMessage(e), seconds: seconds() };
  }
}

/** Waits for the rig; once aborted, gives it `graceMs` to unwind and then stops waiting. */
async function settleWithin(run: Promise<void>, signal: AbortSignal, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const gaveUp = new Promise<void>((_, reject) => {
    onAbort = () => {
      timer = setTimeout(() => reject(new Error('rig did not stop after the interruption')), graceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  // If we stop waiting, a late rejection of the rig must not surface as an unhandled rejection.
  run.catch(() => {});
  try {
    await Promise.race([run, gaveUp]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    if (timer) clearTimeout(timer);
  }
}

/** Ends direct children of this process that were not there before the rig ran; resolves with what it ended. */
async function endStrayChildren(
  capabilities: HostCapabilities,
  runner: CommandRunner,
  before: ReadonlySet<number>,
  graceMs: number,
): Promise<string[]> {
  const pids = (await childPids(process.pid, capabilities.platform, runner).catch(() => [])).filter(
    (p) => !before.has(p),
  );
  const described = await Promise.all(pids.map(describeProcess));
  await terminate(pids, graceMs);
  return described;
}

function interruptedReason(signal: AbortSignal): string {
  return `interrupted${signal.reason instanceof Error ? ` (${signal.reason.message})` : ''}`;
}
