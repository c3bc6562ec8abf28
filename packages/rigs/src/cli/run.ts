import { writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { RigManifest } from '@coppice/results-schema';
import type { HostPlatform } from '@coppice/runtime/host';
import { Progress, progressMode } from '../harness/progress.ts';
import { commandLine, hostInfo } from '../harness/provenance.ts';
import { onPath } from '../harness/requirements.ts';
import { runRig, type RigOutcome } from '../harness/run-rig.ts';
import { errorMessage } from '../harness/series.ts';
import { formatSummary } from '../harness/summary.ts';
import type { CliEnv } from './catalog.ts';
import { COMMAND_ENV, OUTCOME_FILE_ENV } from './rig-process.ts';
import { UsageError } from './usage-error.ts';

/** Tools whose versions every result file records, besides the binaries the rig's manifest requires. */
const defaultTools: Record<HostPlatform, string[]> = {
  linux: ['qemu-system-x86_64', 'nft', 'sockperf', 'iperf3'],
  freebsd: ['bhyve', 'pfctl', 'sockperf', 'iperf3'],
};

export interface RunArgs {
  ids: string[];
  quick: boolean;
  outDir: string;
}

export function parseRunArgs(args: readonly string[], env: Pick<CliEnv, 'manifests' | 'repoRoot'>): RunArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } },
      allowPositionals: true,
    });
  } catch (e) {
    throw new UsageError(errorMessage(e));
  }
  const known = env.manifests.map((m) => m.id);
  const unknown = parsed.positionals.filter((id) => !known.includes(id));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown rig ${unknown.map((u) => `"${u}"`).join(', ')} (known: ${known.join(', ') || 'none'})`,
    );
  }
  const out = parsed.values.out;
  if (out === '') throw new UsageError('--out needs a directory');
  return {
    ids: [...new Set(parsed.positionals)],
    quick: parsed.values.quick ?? false,
    outDir: out === undefined ? join(env.repoRoot, 'benchmarks', 'results') : isAbsolute(out) ? out : resolve(out),
  };
}

/**
 * `run [<id>...] [--quick] [--out DIR]`: one rig at a time (each in a process of its own when there are several and
 * env.rigProcess is given), then the summary; non-zero if any rig failed.
 */
export async function runCommand(args: readonly string[], env: CliEnv): Promise<number> {
  const { ids, quick, outDir } = parseRunArgs(args, env);
  const selected: RigManifest[] =
    ids.length > 0 ? ids.map((id) => env.manifests.find((m) => m.id === id)!) : [...env.manifests];
  if (selected.length === 0) {
    env.stderr.write('coppice-rigs run: no rigs are registered\n');
    return 1;
  }
  const progress = new Progress(env.stderr, { mode: progressMode(env.stderr, env.env) });
  // In a rig's own process (rig-process.ts) the result file records the command the user typed.
  const command = env.env[COMMAND_ENV] ?? commandLine(env.argv, env.repoRoot);
  const isolate = selected.length > 1 ? env.rigProcess : undefined;
  const interrupts = env.interrupts();
  const outcomes: RigOutcome[] = [];
  try {
    for (const manifest of selected) {
      if (interrupts.signal.aborted) {
        outcomes.push({ rig: manifest.id, status: 'failed', reason: 'not run: the run was interrupted' });
        continue;
      }
      const outcome = isolate
        ? await isolate({ id: manifest.id, quick, outDir, command, signal: interrupts.signal })
        : await runRig({
            manifest,
            outDir,
            quick,
            repoRoot: env.repoRoot,
            runner: env.runner,
            capabilities: { platform: env.platform, root: env.root, hasBinary: (b) => onPath(b, env.env.PATH) },
            host: (m) =>
              hostInfo(
                env.runner,
                env.platform,
                [...defaultTools[env.platform], ...(m.requirements.binaries[env.platform] ?? [])],
                env.env,
              ),
            progress,
            signal: interrupts.signal,
            command,
            killStrayChildren: true,
          });
      outcomes.push(outcome);
      const detail = outcome.status === 'captured' ? outcome.file : outcome.reason;
      progress.log(`${outcome.status}: ${detail}`);
    }
  } finally {
    interrupts.dispose();
  }
  const outcomeFile = env.env[OUTCOME_FILE_ENV];
  if (outcomeFile) writeFileSync(outcomeFile, JSON.stringify(outcomes));
  env.stdout.write(`\n${formatSummary(outcomes)}\n`);
  return interrupts.exitCode() ?? (outcomes.some((o) => o.status === 'failed') ? 1 : 0);
}
