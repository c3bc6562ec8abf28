/**
 * The runtime's one way to write a file it must find again after a crash or a power loss: written under a
 * temporary name, fsync'd, renamed into place, and the directory fsync'd so the new name itself is on disk (a
 * rename alone can be lost with the directory's block when the power goes). Pool state, cubenet state, the host
 * forwarding record, templates and bhyve sidecars all go through here.
 */
import { copyFile, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** fsync(2) of a directory: makes the names created, linked or renamed in it durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync(2) of a file's data and metadata (e.g. a checkpoint another process wrote, before it is relied on). */
export async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o600: runtime state is root's). */
  mode?: number;
  /** false: the caller fsyncs the folder itself, once, after more names are made in it. */
  syncFolder?: boolean;
}

let sequence = 0;

/**
 * Replaces `path` with `data` so that a reader (or a restart after a crash) sees either the old file or the whole
 * new one, never a mix or an empty file. The temporary name carries the pid and a counter, so two writers in one
 * folder never share one.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${++sequence}.tmp`);
  try {
    const fh = await open(tmp, 'wx', options.mode ?? 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  if (options.syncFolder ?? true) await syncDir(dirname(path));
}

/**
 * Copies `from` to `to` durably: `to` either does not exist or is a complete, fsync'd copy. With `syncFolder: false`
 * the caller fsyncs the folder itself (once, after more names are made in it).
 */
export async function copyDurably(from: string, to: string, options: { syncFolder?: boolean } = {}): Promise<void> {
  const tmp = `${to}.partial`;
  try {
    await copyFile(from, tmp);
    await syncFile(tmp);
    await rename(tmp, to);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  if (options.syncFolder ?? true) await syncDir(dirname(to));
}
