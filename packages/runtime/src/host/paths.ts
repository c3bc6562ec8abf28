/**
 * Containment of paths the runtime reads back and later deletes: a path from a state file is acted on only when it
 * lies inside the folder that owns it, with `..` and the symlinks of its existing part resolved, so a tampered file
 * cannot point a recursive remove anywhere else.
 */
import { realpath, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** The path with `..` and every symlink of its longest existing prefix resolved (the rest appended as written). */
async function resolveExisting(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
    const parent = dirname(absolute);
    if (parent === absolute) return absolute;
    return join(await resolveExisting(parent), basename(absolute));
  }
}

/** True when `path` is absolute and lies strictly inside `root` (not `root` itself). */
export async function isInside(root: string, path: string): Promise<boolean> {
  if (!isAbsolute(path) || path.includes('\0')) return false;
  const rel = relative(await resolveExisting(root), await resolveExisting(path));
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** Removes `path` (recursively) only when it lies inside `root`; throws naming both otherwise. */
export async function removeInside(root: string, path: string): Promise<void> {
  if (!(await isInside(root, path))) throw new Error(`refusing to remove ${path}: it is not inside ${root}`);
  await rm(path, { recursive: true, force: true });
}
