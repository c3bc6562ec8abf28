import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import {
  loadResultsTree,
  newestPerRigHost,
  type ClaimsRegistry,
  type LoadedResult,
  type PublishedReference,
  type RigManifest,
} from '@coppice/results-schema';
import { manifests as rigManifests } from '@coppice/rigs/manifests';
import { registry as registryInput } from '../../claims/registry.ts';
import { checkRegistry } from '../validation/registry-check.ts';
import { astroVisibleText, findTypedFigures } from '../validation/prose-figures.ts';
import { BuildValidationError, type Problem } from '../validation/problem.ts';
import { loadReferences, type LoadedReference } from './references.ts';
import { referencesDir, repoRoot, resultsDir } from './paths.ts';

/** Everything the pages render from, loaded and validated once per build. */
export interface SiteData {
  root: string;
  registry: ClaimsRegistry;
  /** Every valid result file, sorted by path. */
  results: LoadedResult[];
  /** The newest file per (rig, host): the one a claim shows. */
  newest: Map<string, LoadedResult>;
  /** Host ids with at least one result file, sorted. */
  hosts: string[];
  manifests: readonly RigManifest[];
  manifestById: Map<string, RigManifest>;
  references: Map<string, LoadedReference>;
}

export const newestKey = (rig: string, host: string) => `${rig}\u0000${host}`;

/**
 * The build validates everything once before bundling (astro.config.mjs) and hands the loaded data to the pages
 * through this global: the config and the bundled pages are separate module graphs in one process, and a
 * 1 000-file tree is too large to parse and hold twice.
 */
const SHARED = Symbol.for('coppice.site-data');
type Shared = { [SHARED]?: SiteData };

export function shareSiteData(data: SiteData): void {
  (globalThis as Shared)[SHARED] = data;
}

let cached: SiteData | undefined;

/**
 * Loads and validates the results tree, the published references and the registry, and scans the page sources for
 * hand-typed figures. Any problem throws one BuildValidationError listing every problem with its file and field:
 * the build fails rather than publish a page that cannot be traced.
 */
export function siteData(): SiteData {
  cached ??= (globalThis as Shared)[SHARED] ?? loadSiteData();
  return cached;
}

export function loadSiteData(root = repoRoot()): SiteData {
  const problems: Problem[] = [];

  const tree = loadResultsTree(resultsDir(root), { repoRoot: root });
  // A results dir outside the repo (COPPICE_RESULTS_DIR) is named by its absolute path, not by ../../..
  problems.push(...tree.problems.map((p) => (p.file.startsWith('..') ? { ...p, file: resolve(root, p.file) } : p)));

  const refs = loadReferences(referencesDir(root), root);
  problems.push(...refs.problems);

  const checked = checkRegistry(
    registryInput,
    rigManifests,
    refs.references.map((r) => r.reference),
  );
  problems.push(...checked.problems);

  problems.push(...scanPageSources(root));

  if (problems.length > 0 || !checked.registry) throw new BuildValidationError(problems);

  const newest = new Map<string, LoadedResult>();
  for (const r of newestPerRigHost(tree.results)) newest.set(newestKey(r.data.rig.id, r.data.host.id), r);
  return {
    root,
    registry: checked.registry,
    results: tree.results,
    newest,
    hosts: [...new Set(tree.results.map((r) => r.data.host.id))].sort(),
    manifests: rigManifests,
    manifestById: new Map(rigManifests.map((m) => [m.id, m])),
    references: new Map(refs.references.map((r) => [r.reference.id, r])),
  };
}

const PAGE_SOURCE_DIRS = ['apps/site/src/pages', 'apps/site/src/components', 'apps/site/src/layouts'];

/** Hand-typed figures in the text of the .astro sources (outside expressions, tags, styles and scripts). */
export function scanPageSources(root: string): Problem[] {
  const problems: Problem[] = [];
  for (const dir of PAGE_SOURCE_DIRS) {
    for (const file of walk(join(root, dir)).filter((f) => f.endsWith('.astro'))) {
      const rel = relative(root, file).split('\\').join('/');
      const lines = astroVisibleText(readFileSync(file, 'utf8'));
      for (const figure of findTypedFigures(lines)) {
        problems.push({
          file: rel,
          message: `has the figure "${figure}" typed by hand into page text: render it from a result instead`,
        });
      }
    }
  }
  return problems;
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

export type { LoadedResult, PublishedReference };
