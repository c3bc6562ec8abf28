import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { manifests } from '@coppice/rigs/manifests';
import { astroBuild } from './astro-build.ts';
import { writeSyntheticResults } from './synthetic-results.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    fixtureResults: string;
    fixtureSite: string;
    fixtureFiles: string[];
  }
}

/** Builds the site once over a small synthetic results tree in a temporary folder; removed afterwards. */
export default async function setup(project: TestProject) {
  const root = mkdtempSync(join(tmpdir(), 'coppice-site-test-'));
  const results = join(root, 'results');
  const site = join(root, 'dist');
  const tree = writeSyntheticResults(results, {
    manifests,
    hosts: ['synthetic-a', 'synthetic-b'],
    files: manifests.length * 2 * 2,
    samples: 40,
    failingChecksOn: ['synthetic-b'],
    // Host b lacks the last metric of each rig, so its page has dashes to check.
    dropSeries: (host, manifest, metric) => host === 'synthetic-b' && metric === manifest.metrics[manifest.metrics.length - 1]!.name,
  });
  const outcome = await astroBuild(results, site);
  if (outcome.code !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`fixture site build failed:\n${outcome.output}`);
  }
  project.provide('fixtureResults', results);
  project.provide('fixtureSite', site);
  project.provide('fixtureFiles', tree.files);
  return () => rmSync(root, { recursive: true, force: true });
}
