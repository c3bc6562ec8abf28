import { HypervisorError, type Checkpoint, type CheckpointStore, type OrphanScope } from '../hypervisor.ts';
import type { BhyveSystem } from './system.ts';

/** Beside every checkpoint FILE: the bhyve version and device layout it was taken with (see bhyve.ts). */
export const SIDECAR = '.coppice.json';

/**
 * bhyve's checkpoint files: FILE (guest memory; with memory "template" the file restores map, shared by hard links),
 * FILE.kern, FILE.meta and the sidecar, all on disk in the pool's folder.
 */
export class BhyveCheckpointStore implements CheckpointStore {
  readonly kind = 'bhyve' as const;

  constructor(private readonly system: BhyveSystem) {}

  /**
   * fsyncs the data of every file and then their folders, so that a checkpoint recorded after this survives a
   * power loss. bhyvectl --suspend writes without fsync, and a hard link shares the data it names: both must be
   * made durable here before a pool records the entry.
   */
  async makeDurable(files: readonly string[]): Promise<void> {
    for (const f of files) await this.system.syncFile(f);
    for (const dir of new Set(files.map(folderOf))) await this.system.syncDir(dir);
  }

  async checkpointIntact(cp: Checkpoint): Promise<boolean> {
    for (const f of cp.files) if ((await this.system.fileSize(f)) === undefined) return false;
    return true;
  }

  /** Checkpoint memory lives on disk with bhyve (FILE): only the pool's checkpoint directory has files to clean. */
  async removeOrphanFiles(scope: OrphanScope, referenced: ReadonlySet<string>): Promise<string[]> {
    const dir = scope.checkpointDir.replace(/\/+$/, '');
    const removed: string[] = [];
    for (const name of await this.system.listDir(dir)) {
      const full = `${dir}/${name}`;
      if (referenced.has(full)) continue;
      await this.system.remove(full);
      removed.push(full);
    }
    return removed;
  }

  /**
   * A checkpoint of its own for a pool entry, made from a template checkpoint: FILE.kern, FILE.meta and the sidecar
   * are copied; FILE (guest memory) is hard-linked when memory is "template", so that with vnode restore every entry
   * restored from it maps the same vnode and shares its pages (a copy would defeat the sharing), and copied otherwise.
   * Half-made clones are removed.
   */
  async cloneCheckpoint(base: Checkpoint, path: string): Promise<Checkpoint> {
    const made: string[] = [];
    const sidecar = `${path}${SIDECAR}`;
    try {
      for (const suffix of ['.kern', '.meta']) {
        await this.system.copyFile(`${base.path}${suffix}`, `${path}${suffix}`);
        made.push(`${path}${suffix}`);
      }
      if (base.memory === 'template') await this.system.link(base.path, path);
      else await this.system.copyFile(base.path, path);
      made.push(path);
      await this.system.copyFile(`${base.path}${SIDECAR}`, sidecar);
      made.push(sidecar);
      // The linked FILE is the template's data: synced again here, whoever wrote it and whether that was synced.
      await this.makeDurable([path, `${path}.kern`, `${path}.meta`, sidecar]);
    } catch (e) {
      for (const f of made) await this.system.remove(f);
      throw e instanceof HypervisorError
        ? e
        : new HypervisorError(`cannot clone checkpoint ${base.path}: ${(e as Error).message}`);
    }
    const files = [path, `${path}.kern`, `${path}.meta`, sidecar];
    let bytes = 0;
    for (const f of files) bytes += (await this.system.fileSize(f)) ?? 0;
    return {
      ...base,
      path,
      files,
      ...(base.memory === 'template' ? { memoryFile: path } : {}),
      bytes,
      createdAt: new Date().toISOString(),
    };
  }

  async removeCheckpoint(checkpoint: Checkpoint): Promise<void> {
    for (const f of checkpoint.files) await this.system.remove(f);
  }
}

function folderOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
