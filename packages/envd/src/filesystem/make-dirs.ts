import { chown, lstat, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Account } from '../accounts.ts';

/**
 * mkdir -p that gives every directory it creates to `owner`, so a user's upload or MakeDir into a new tree leaves
 * no root-owned parents the user cannot write to. Returns whether `dir` itself was created.
 */
export async function makeDirsOwnedBy(dir: string, owner: Account): Promise<boolean> {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    const st = await lstat(d).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (st) {
      if (!st.isDirectory()) {
        const error: NodeJS.ErrnoException = new Error(`${d}: not a directory`);
        error.code = 'ENOTDIR';
        throw error;
      }
      break;
    }
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    await mkdir(d).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    await chown(d, owner.uid, owner.gid);
  }
  return missing.length > 0;
}
