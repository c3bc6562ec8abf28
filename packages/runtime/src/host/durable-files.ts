/**
 * The runtime's one way to replace a file it reads back: written under a temporary name in the same folder and
 * renamed into place, so a reader (or a restart) sees the old file or the whole new one, never a torn or empty one.
 * Two strengths:
 * - durable (writeFileAtomic, createFileAtomic, copyDurably): the data fsync'd before the rename and the folder
 *   fsync'd after it, so the file survives a power loss too (a rename alone can be lost with the folder's block).
 *   Pool state, templates, the host forwarding record, QEMU checkpoints and bhyve sidecars.
 * - crash-safe only (writeFileAtomicUnsynced): no fsync, synchronous. Survives the writer being killed at any
 *   instant, not a power cut; for state whose subject dies with the host anyway (cubenet's per-sandbox records,
 *   whose kernel objects are gone after a reboot; the guest agent's generation file, rewritten by
 *   every /init) and that is written on a latency-critical path.
 */
import { closeSync, constants, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile, open, rename, rm, type FileHandle } from 'node:fs/promises';
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
 * The temporary name of a write to `path`: hidden, in the same folder (a rename never crosses a file system), ending
 * in `.tmp` (what a reader skips and a cleanup may delete), with the pid and a counter, so no two writers share one.
 */
export function temporaryNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${++sequence}.tmp`);
}

/** A file being written under its temporary name; `commit` puts it in place durably, `abort` removes it. */
export interface AtomicFile {
  readonly handle: FileHandle;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * Starts a durable replacement of `path` whose data arrives in pieces (e.g. a migration stream): write through
 * `handle`, then `commit` (fsync, close, rename, folder fsync) or `abort`.
 */
export async function createFileAtomic(path: string, options: AtomicWriteOptions = {}): Promise<AtomicFile> {
  const tmp = temporaryNameFor(path);
  const handle = await open(tmp, 'wx', options.mode ?? 0o600);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return {
    handle,
    commit: async () => {
      try {
        await handle.sync();
        await close();
        await rename(tmp, path);
      } catch (e) {
        await close().catch(() => undefined);
        await rm(tmp, { force: true });
        throw e;
      }
      if (options.syncFolder ?? true) await syncDir(dirname(path));
    },
    abort: async () => {
      await close().catch(() => undefined);
      await rm(tmp, { force: true });
    },
  };
}

/**
 * Replaces `path` with `data` durably: a reader (or a restart after a crash or a power loss) sees either the old
 * file or the whole new one, never a mix or an empty file.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const file = await createFileAtomic(path, options);
  try {
    await file.handle.writeFile(data);
  } catch (e) {
    await file.abort();
    throw e;
  }
  await file.commit();
}

/**
 * Replaces `path` with `data` atomically against a killed writer, NOT against a power cut: no fsync at all, and
 * synchronous (a few KB into the page cache costs tens of microseconds on the event loop, where the promise API's
 * open/write/close/rename are four hops through the thread pool). Only for files whose subject does not outlive the
 * host (see the module comment).
 */
export function writeFileAtomicUnsynced(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): void {
  const tmp = temporaryNameFor(path);
  try {
    const fd = openSync(tmp, 'wx', options.mode ?? 0o600);
    try {
      writeFileSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Copies `from` to `to` durably: `to` either does not exist or is a complete, fsync'd copy. With `syncFolder: false`
 * the caller fsyncs the folder itself (once, after more names are made in it).
 */
export async function copyDurably(from: string, to: string, options: { syncFolder?: boolean } = {}): Promise<void> {
  const tmp = temporaryNameFor(to);
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

/**
 * A working copy that need not survive a crash (a VM's own disk layer on tmpfs): no fsync, no temporary name, and
 * shared blocks (reflink) where the file system can. The caller removes `to` when it fails.
 */
export async function copyUnsynced(from: string, to: string): Promise<void> {
  await copyFile(from, to, constants.COPYFILE_FICLONE);
}
