import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The monorepo root: the nearest folder above the working directory whose package.json declares workspaces. */
export function repoRoot(start = process.cwd()): string {
  let dir = resolve(start);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && 'workspaces' in JSON.parse(readFileSync(pkg, 'utf8'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no monorepo root (package.json with "workspaces") above ${start}`);
    dir = parent;
  }
}

/** Where result files are read from: `COPPICE_RESULTS_DIR` when set, otherwise `<repo>/benchmarks/results`. */
export function resultsDir(root = repoRoot()): string {
  const override = process.env.COPPICE_RESULTS_DIR;
  return override ? resolve(override) : join(root, 'benchmarks', 'results');
}

export function referencesDir(root = repoRoot()): string {
  return join(root, 'benchmarks', 'references');
}

/**
 * The repo-relative path a result file has (or would have) under benchmarks/results: the value of `data-result`.
 * `relativeToResults` uses forward slashes, e.g. "host-limits/linux-x/20261128T195102Z.json".
 */
export function repoResultPath(relativeToResults: string): string {
  return `benchmarks/results/${relativeToResults}`;
}
