/** The one module that replaces files the runtime reads back: its two strengths, and that nothing else does it. */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  copyDurably,
  createFileAtomic,
  writeFileAtomic,
  writeFileAtomicUnsynced,
} from '../../src/host/durable-files.ts';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(full)));
    else if (/\.(ts|mjs)$/.test(e.name)) out.push(full);
  }
  return out;
}

describe('durable-files', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  async function dir(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'durable-files-test-'));
    dirs.push(d);
    return d;
  }

  it('writeFileAtomic replaces a file whole, with mode 0600, and leaves no temporary file', async () => {
    const d = await dir();
    const path = join(d, 'state.json');
    await writeFile(path, 'old');
    // Concurrent writers of one path in one process each use a temporary name of their own.
    await Promise.all(['a', 'b', 'c'].map((x) => writeFileAtomic(path, x.repeat(100_000))));
    expect(['a', 'b', 'c'].map((x) => x.repeat(100_000))).toContain(await readFile(path, 'utf8'));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(d)).toEqual(['state.json']);
  });

  it('writeFileAtomic into a missing folder fails and creates nothing', async () => {
    const d = await dir();
    await expect(writeFileAtomic(join(d, 'missing', 'x.json'), '{}')).rejects.toThrow(/ENOENT/);
    expect(await readdir(d)).toEqual([]);
  });

  it('createFileAtomic: nothing at the name until commit; abort leaves the old file and no temporary file', async () => {
    const d = await dir();
    const path = join(d, 'checkpoint');
    await writeFile(path, 'old');
    const aborted = await createFileAtomic(path);
    await aborted.handle.write('half a stream');
    await aborted.abort();
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(d)).toEqual(['checkpoint']);
    const file = await createFileAtomic(path);
    await file.handle.write('part 1,');
    expect(await readFile(path, 'utf8')).toBe('old');
    await file.handle.write('part 2');
    await file.commit();
    expect(await readFile(path, 'utf8')).toBe('part 1,part 2');
    expect(await readdir(d)).toEqual(['checkpoint']);
  });

  it('writeFileAtomicUnsynced replaces a file whole, synchronously, and leaves no temporary file', async () => {
    const d = await dir();
    const path = join(d, 'record.json');
    writeFileAtomicUnsynced(path, 'one');
    expect(await readFile(path, 'utf8')).toBe('one');
    writeFileAtomicUnsynced(path, 'two');
    expect(await readFile(path, 'utf8')).toBe('two');
    expect(() => writeFileAtomicUnsynced(join(d, 'missing', 'r.json'), 'x')).toThrow(/ENOENT/);
    expect(await readdir(d)).toEqual(['record.json']);
  });

  it('copyDurably makes a whole copy under the new name only', async () => {
    const d = await dir();
    await writeFile(join(d, 'from'), 'x'.repeat(1 << 20));
    await copyDurably(join(d, 'from'), join(d, 'to'));
    expect(await readFile(join(d, 'to'), 'utf8')).toBe('x'.repeat(1 << 20));
    expect((await readdir(d)).sort()).toEqual(['from', 'to']);
  });

  it('is the only module under src/ that renames a file into place (one implementation of atomic writes)', async () => {
    const offenders: string[] = [];
    for (const file of await sourceFiles(SRC)) {
      const rel = relative(SRC, file);
      if (rel === join('host', 'durable-files.ts')) continue;
      const code = await readFile(file, 'utf8');
      // rename/copyFile taken from node:fs in any form: a named import, or a member of an imported namespace.
      const imports = [
        ...code.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(?:node:)?fs(?:\/promises)?'/g),
        ...code.matchAll(/\{([^}]*)\}\s*=\s*await\s+import\('(?:node:)?fs(?:\/promises)?'\)/g),
      ];
      const named = imports.some((m) => /\b(rename|copyFile)(Sync)?\b/.test(m[1]!));
      const member = /\b(fs|fsp|promises)\.(rename|copyFile)(Sync)?\b/.test(code);
      if (named || member) offenders.push(rel);
    }
    expect(offenders).toEqual([]);
  });
});
