/** Containment of read-back paths: '..' and symlinks resolved, the root itself and its siblings outside. */
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isInside, removeInside } from '../../src/host/paths.ts';

describe('isInside / removeInside', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('answers for existing and not yet existing paths, resolving .. and symlinks', async () => {
    const d = await mkdtemp(join(tmpdir(), 'cpt-paths-'));
    dirs.push(d);
    const root = join(d, 'pool');
    await mkdir(join(root, 'vm'), { recursive: true });
    await mkdir(join(d, 'pool-other'));
    await symlink(join(d, 'pool-other'), join(root, 'escape'));
    await symlink(root, join(d, 'link-to-root'));
    expect(await isInside(root, join(root, 'vm'))).toBe(true);
    expect(await isInside(root, join(root, 'not-yet', 'deeper'))).toBe(true);
    expect(await isInside(root, join(root, '..foo'))).toBe(true);
    expect(await isInside(root, root)).toBe(false);
    expect(await isInside(root, join(root, 'vm', '..'))).toBe(false);
    expect(await isInside(root, join(root, '..', 'pool-other'))).toBe(false);
    expect(await isInside(root, join(d, 'pool-other'))).toBe(false); // a sibling sharing the name's start
    expect(await isInside(root, join(root, 'escape', 'x'))).toBe(false);
    expect(await isInside(join(d, 'link-to-root'), join(root, 'vm', 'x'))).toBe(true); // the root may be a symlink
    expect(await isInside(root, 'vm/x')).toBe(false);
  });

  it('removeInside removes a tree inside and refuses one outside, which survives', async () => {
    const d = await mkdtemp(join(tmpdir(), 'cpt-paths-'));
    dirs.push(d);
    await mkdir(join(d, 'root', 'vm', 'sub'), { recursive: true });
    await mkdir(join(d, 'outside'));
    await writeFile(join(d, 'outside', 'precious'), 'x');
    await removeInside(join(d, 'root'), join(d, 'root', 'vm'));
    expect(await readdir(join(d, 'root'))).toEqual([]);
    await expect(removeInside(join(d, 'root'), join(d, 'root', '..', 'outside'))).rejects.toThrow(
      /refusing to remove .*not inside/,
    );
    expect(await readdir(join(d, 'outside'))).toEqual(['precious']);
  });
});
