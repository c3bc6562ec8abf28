import { isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  formatProblem,
  loadResultsTree,
  newestPerRigHost,
  summarize,
  type LoadedResult,
  type RigManifest,
} from '@coppice/results-schema';
import { errorMessage } from '../harness/series.ts';
import type { CliEnv } from './catalog.ts';
import { UsageError } from './usage-error.ts';

/**
 * `verify [DIR]`: validates every file of a results tree with the results-schema loader, checks each series against
 * its rig's manifest (metric and unit), and recomputes every summary from the raw samples. Exit 1 on any problem.
 */
export async function verifyCommand(args: readonly string[], env: CliEnv): Promise<number> {
  let positionals: string[];
  try {
    ({ positionals } = parseArgs({ args: [...args], options: {}, allowPositionals: true }));
  } catch (e) {
    throw new UsageError(errorMessage(e));
  }
  if (positionals.length > 1) throw new UsageError('takes at most one directory');
  const dir = positionals[0] === undefined ? join(env.repoRoot, 'benchmarks', 'results') : positionals[0];
  const root = isAbsolute(dir) ? dir : resolve(dir);

  // Paths print relative to the repo for a tree inside it, else relative to the tree itself.
  const inRepo = !relative(env.repoRoot, root).startsWith('..');
  const tree = loadResultsTree(root, { repoRoot: inRepo ? env.repoRoot : root });
  const problems = tree.problems.map(formatProblem);
  const newest = new Set(newestPerRigHost(tree.results).map((r) => r.path));
  const lines: string[] = [];
  for (const result of tree.results) {
    problems.push(...manifestProblems(result, env.manifests));
    lines.push(...summaryLines(result, newest.has(result.path), problems));
  }

  env.stdout.write(`${tree.results.length} valid result file(s) under ${root}\n`);
  if (lines.length > 0) env.stdout.write(`${lines.join('\n')}\n`);
  if (problems.length > 0) {
    env.stderr.write(`${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
    return 1;
  }
  return 0;
}

/** A series whose rig is registered must name one of its metrics, with the manifest's unit. */
function manifestProblems(result: LoadedResult, manifests: readonly RigManifest[]): string[] {
  const manifest = manifests.find((m) => m.id === result.data.rig.id);
  if (!manifest) return [`${result.path}: rig.id: no registered rig "${result.data.rig.id}"`];
  return result.data.series.flatMap((s, i) => {
    const def = manifest.metrics.find((m) => m.name === s.metric);
    if (!def) return [`${result.path}: series[${i}].metric: "${s.metric}" is not a metric of rig ${manifest.id}`];
    if (def.unit !== s.unit)
      return [`${result.path}: series[${i}].unit: is "${s.unit}", the manifest says "${def.unit}"`];
    return [];
  });
}

function summaryLines(result: LoadedResult, isNewest: boolean, problems: string[]): string[] {
  const lines = [`${result.path}${isNewest ? '  (newest for its rig and host)' : ''}`];
  result.data.series.forEach((s, i) => {
    const labels = Object.entries(s.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const name = `${s.metric}${labels ? `{${labels}}` : ''} [${s.unit}]`;
    const failed = s.failures.length > 0 ? `, ${s.failures.length} failed` : '';
    if (s.samples.length === 0) {
      lines.push(`  ${name}: no samples${failed}`);
      return;
    }
    try {
      const sum = summarize(s.samples);
      const p99 = `${fmt(sum.p99)}${sum.p99Reliable ? '' : ' (n<100: unreliable)'}`;
      lines.push(
        `  ${name}: n=${sum.n} mean=${fmt(sum.mean)} p50=${fmt(sum.p50)} p95=${fmt(sum.p95)} p99=${p99} ` +
          `min=${fmt(sum.min)} max=${fmt(sum.max)} outliers=${sum.outliers.count}${failed}`,
      );
    } catch (e) {
      problems.push(`${result.path}: series[${i}].samples: cannot summarize: ${errorMessage(e)}`);
    }
  });
  return lines;
}

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
