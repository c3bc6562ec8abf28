/**
 * Files that must survive a crash and a power loss: written under a temporary name, fsync'd, renamed into place,
 * and the directory fsync'd so the new name itself is on disk (a rename alone can be lost with the directory's
 * block when the power goes).
 */
import { copyFile, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsync(2) of a directory: makes the names created, linked or renamed in it durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Copies `from` to `to` durably: `to` either does not exist or is a complete, fsync'd copy. With `syncFolder: false`
 * the caller fsyncs the folder itself (once, after more names are made in it).
 */
export async function copyDurably(from: string, to: string, options: { syncFolder?: boolean } = {}): Promise<void> {
  const tmp = `${to}.partial`;
  try {
    await copyFile(from, tmp);
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, to);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  if (options.syncFolder ?? true) await syncDir(dirname(to));
}
