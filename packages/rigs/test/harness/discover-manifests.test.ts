import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { discoverManifests } from '../../src/harness/discover-manifests.ts';
import { manifests } from '../../src/manifests.ts';

const RIGS_DIR = fileURLToPath(new URL('../../src/rigs/', import.meta.url));

/** The text of a manifest.ts exporting one valid manifest with this id (plus a constant, as real manifests have). */
function manifestSource(id: string, exportName = 'fixtureManifest'): string {
  const manifest = {
    id,
    title: `fixture ${id}`,
    summary: 'A rig folder made by the discovery test.',
    script: `packages/rigs/src/rigs/${id}/rig.ts`,
    platforms: ['linux'],
    requirements: {},
    metrics: [{ name: 'tick', unit: 'ms', description: 'a timer', labels: {} }],
    clock: 'from before a timer is set until it fires',
    reproduce: `node packages/rigs/bin/coppice-rigs.js run ${id}`,
    samples: { full: 6, quick: 3 },
  };
  return `export const SAMPLES = 6;\nexport const ${exportName} = ${JSON.stringify(manifest)};\n`;
}

describe('discoverManifests', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  function rigsDir(files: Record<string, string>): string {
    dir ??= mkdtempSync(join(tmpdir(), 'coppice-rigs-discover-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  }

  it('lists the manifest of every rig folder, sorted by id, and a new folder with a manifest appears', async () => {
    const root = rigsDir({
      'beta/manifest.ts': manifestSource('beta'),
      'alpha/manifest.ts': manifestSource('alpha'),
      'not-a-rig/helper.ts': 'export const x = 1;\n',
      'loose.ts': 'export const y = 2;\n',
    });
    expect((await discoverManifests(root)).map((m) => m.id)).toEqual(['alpha', 'beta']);
    rigsDir({ 'gamma/manifest.ts': manifestSource('gamma') });
    expect((await discoverManifests(root)).map((m) => m.id)).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('refuses a manifest whose id is not its folder name, naming both', async () => {
    const root = rigsDir({
      'alpha/manifest.ts': manifestSource('alpha'),
      'renamed/manifest.ts': manifestSource('original'),
    });
    await expect(discoverManifests(root)).rejects.toThrow(
      'rigs/renamed/manifest.ts has id "original": a rig\'s id must be its folder\'s name ("renamed")',
    );
  });

  it('refuses a manifest.ts that exports no valid manifest, or more than one', async () => {
    const none = rigsDir({ 'empty/manifest.ts': 'export const SAMPLES = 6;\n' });
    await expect(discoverManifests(none)).rejects.toThrow(
      'rigs/empty/manifest.ts exports 0 valid manifests, expected exactly 1',
    );
    rmSync(none, { recursive: true, force: true });
    dir = undefined;
    const two = rigsDir({
      'twice/manifest.ts':
        manifestSource('twice', 'a') + manifestSource('twice', 'b').replace('export const SAMPLES = 6;\n', ''),
    });
    await expect(discoverManifests(two)).rejects.toThrow(
      'rigs/twice/manifest.ts exports 2 valid manifests, expected exactly 1',
    );
  });
});

describe('the package manifests', () => {
  it('are exactly the rig folders that have a manifest.ts, each read from disk the same as bundled', async () => {
    const folders = readdirSync(RIGS_DIR)
      .filter((name) => existsSync(join(RIGS_DIR, name, 'manifest.ts')))
      .sort();
    expect(manifests.map((m) => m.id)).toEqual(folders);
    expect((await discoverManifests(RIGS_DIR)).map((m) => m.id)).toEqual(folders);
    for (const m of manifests) expect(m.script).toBe(`packages/rigs/src/rigs/${m.id}/rig.ts`);
  });
});
