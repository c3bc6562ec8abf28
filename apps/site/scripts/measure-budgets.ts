/**
 * Measures the site's two budgets and exits non-zero when either is over:
 *   1. the claims page (index.html plus the CSS it links) under 150 KB, with no client JavaScript;
 *   2. a full site build over 1 000 result files under 60 s.
 * The 1 000 files are SYNTHETIC (test/support/synthetic-results.ts), written into a temporary folder that is
 * removed afterwards; nothing is written to benchmarks/results.
 *
 *   cd apps/site && npx tsx scripts/measure-budgets.ts [--files 1000] [--keep]
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifests } from '@coppice/rigs/manifests';
import { astroBuild } from '../test/support/astro-build.ts';
import { writeSyntheticResults } from '../test/support/synthetic-results.ts';

const PAGE_BUDGET_BYTES = 150 * 1024;
const BUILD_BUDGET_MS = 60_000;

const args = process.argv.slice(2);
const files = Number(args[args.indexOf('--files') + 1] ?? 1000) || 1000;
const keep = args.includes('--keep');

/** Bytes of a page plus every stylesheet it links, and whether it has any script. */
export function pageWeight(site: string, pagePath: string): { html: number; css: number; scripts: number } {
  const html = readFileSync(join(site, pagePath), 'utf8');
  const css = [...html.matchAll(/<link[^>]+rel="stylesheet"[^>]*href="([^"]+)"/g)]
    .map((m) => statSync(join(site, m[1]!)).size)
    .reduce((a, b) => a + b, 0);
  return { html: Buffer.byteLength(html), css, scripts: (html.match(/<script\b/gi) ?? []).length };
}

const root = mkdtempSync(join(tmpdir(), 'coppice-budget-'));
try {
  const hosts = ['synthetic-a', 'synthetic-b', 'synthetic-c', 'synthetic-d'];
  const tree = writeSyntheticResults(join(root, 'results'), { manifests, hosts, files, samples: 'manifest' });
  console.log(
    `wrote ${tree.files.length} synthetic result files (${manifests.length} rigs × ${hosts.length} hosts, each series with its rig's full sample count) into ${join(root, 'results')}`,
  );

  const loadBefore = loadavg()[0]!;
  const outcome = await astroBuild(join(root, 'results'), join(root, 'dist'));
  const loadAfter = loadavg()[0]!;
  if (outcome.code !== 0) {
    console.error(outcome.output);
    throw new Error('the site build failed');
  }
  const claims = pageWeight(join(root, 'dist'), 'index.html');
  const total = claims.html + claims.css;
  const pageOk = total < PAGE_BUDGET_BYTES && claims.scripts === 0;
  const buildOk = outcome.ms < BUILD_BUDGET_MS;

  console.log('');
  console.log(
    `claims page: ${(total / 1024).toFixed(1)} KB (HTML ${(claims.html / 1024).toFixed(1)} KB + CSS ${(claims.css / 1024).toFixed(1)} KB), ${claims.scripts} scripts; budget < ${PAGE_BUDGET_BYTES / 1024} KB, no script: ${pageOk ? 'OK' : 'OVER'}`,
  );
  console.log(
    `site build over ${tree.files.length} result files: ${(outcome.ms / 1000).toFixed(1)} s wall; budget < ${BUILD_BUDGET_MS / 1000} s: ${buildOk ? 'OK' : 'OVER'}`,
  );
  console.log(
    `  CPU time of the build: ${outcome.cpuMs === undefined ? 'unknown' : `${(outcome.cpuMs / 1000).toFixed(1)} s`}; 1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${availableParallelism()} CPUs (wall time grows with other work on the machine)`,
  );
  console.log(`command: cd apps/site && npx tsx scripts/measure-budgets.ts --files ${files}`);
  process.exitCode = pageOk && buildOk ? 0 : 1;
} finally {
  if (keep) console.log(`kept ${root}`);
  else rmSync(root, { recursive: true, force: true });
}
