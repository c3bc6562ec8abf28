import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const packageDir = new URL('..', import.meta.url).pathname;
const binDirs = [join(packageDir, 'node_modules/.bin'), join(packageDir, '../../node_modules/.bin')];

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('generated protobuf code', () => {
  let outDir = '';
  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('is what regenerating from proto/ produces', async () => {
    outDir = await mkdtemp(join(tmpdir(), 'cpenvd-gen-'));
    await promisify(execFile)('buf', ['generate', '-o', outDir], {
      cwd: packageDir,
      env: { ...process.env, PATH: [...binDirs, process.env.PATH].join(delimiter) },
    });
    const committed = await listFiles(join(packageDir, 'src/gen'));
    const regenerated = await listFiles(join(outDir, 'src/gen'));
    expect(regenerated).toEqual(committed);
    expect(committed.length).toBeGreaterThan(0);
    for (const file of committed) {
      const fresh = await readFile(join(outDir, 'src/gen', file), 'utf8');
      expect(fresh, `src/gen/${file} differs from a fresh generation; run npm run generate`).toBe(
        await readFile(join(packageDir, 'src/gen', file), 'utf8'),
      );
    }
  }, 60_000);
});
