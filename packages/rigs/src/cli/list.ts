import { parseArgs } from 'node:util';
import type { RigManifest } from '@coppice/results-schema';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { onPath, unmetRequirements } from '../harness/requirements.ts';
import type { RigModule } from '../harness/rig-context.ts';
import { errorMessage } from '../harness/series.ts';
import type { CliEnv } from './catalog.ts';
import { UsageError } from './usage-error.ts';

/** Whether this host can run a rig: its manifest requirements, then the rig's own preflight. */
export async function canRun(
  manifest: RigManifest,
  env: CliEnv,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const unmet = unmetRequirements(manifest, {
    platform: env.platform,
    root: env.root,
    hasBinary: (b) => onPath(b, env.env.PATH),
  });
  if (unmet.length > 0) return { ok: false, reason: unmet.join('; ') };
  try {
    const module = (await import(pathToFileURL(join(env.repoRoot, manifest.script)).href)) as RigModule;
    const reasons =
      (await module.preflight?.({ platform: env.platform, quick: false, runner: env.runner, manifest })) ?? [];
    return reasons.length > 0 ? { ok: false, reason: reasons.join('; ') } : { ok: true };
  } catch (e) {
    return { ok: false, reason: `preflight failed: ${errorMessage(e)}` };
  }
}

export async function listCommand(args: string[], env: CliEnv): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: false }));
  } catch (e) {
    throw new UsageError(errorMessage(e));
  }
  const rows = [];
  for (const m of env.manifests)
    rows.push({ id: m.id, title: m.title, platforms: m.platforms, ...(await canRun(m, env)) });
  if (values.json) {
    env.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const table = rows.map((r) => [r.id, r.platforms.join(','), r.ok ? 'yes' : `no: ${r.reason}`]);
  const header = ['rig', 'platforms', `runs here (${env.platform}${env.root ? ', root' : ''})`];
  const w = [0, 1].map((i) => Math.max(header[i]!.length, ...table.map((r) => r[i]!.length)));
  for (const r of [header, ...table]) env.stdout.write(`${r[0]!.padEnd(w[0]!)}  ${r[1]!.padEnd(w[1]!)}  ${r[2]}\n`);
  if (rows.length === 0) env.stdout.write('(no rigs registered)\n');
  return 0;
}
