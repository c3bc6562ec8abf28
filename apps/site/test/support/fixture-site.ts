import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifests } from '@coppice/rigs/manifests';
import { astroBuild } from './astro-build.ts';
import { writeSyntheticResults } from './synthetic-results.ts';

export interface FixtureSite {
  /** The synthetic results tree the site was built from. */
  results: string;
  /** The built site. */
  site: string;
  /** The result files, relative to `results`. */
  files: string[];
  /** Removes the results tree and the built site. */
  remove(): void;
}

/**
 * Builds the site over a small synthetic results tree in a temporary folder: two hosts (so there is a compare
 * page), failing checks on host b, and host b lacking the last metric of each rig (so its page has dashes).
 */
export async function buildFixtureSite(): Promise<FixtureSite> {
  const root = mkdtempSync(join(tmpdir(), 'coppice-site-test-'));
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    const results = join(root, 'results');
    const site = join(root, 'dist');
    const tree = writeSyntheticResults(results, {
      manifests,
      hosts: ['synthetic-a', 'synthetic-b'],
      files: manifests.length * 2 * 2,
      samples: 40,
      failingChecksOn: ['synthetic-b'],
      dropSeries: (host, manifest, metric) =>
        host === 'synthetic-b' && metric === manifest.metrics[manifest.metrics.length - 1]!.name,
    });
    const outcome = await astroBuild(results, site);
    if (outcome.code !== 0) throw new Error(`fixture site build failed:\n${outcome.output}`);
    return { results, site, files: tree.files, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
