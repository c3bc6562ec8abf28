import { link, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { copyDurably, syncDir } from '../../host/durable-files.ts';
import { HypervisorError, type Checkpoint, type CheckpointStore, type OrphanScope } from '../hypervisor.ts';

/**
 * QEMU's checkpoint files: the migration stream (and its RAM image on disk, `memoryImage`) in the pool's folder,
 * guest RAM shared by restores in a tmpfs file (`memoryFile`) under `shmDir`.
 */
export class QemuCheckpointStore implements CheckpointStore {
  readonly kind = 'qemu' as const;

  /** `format`: what a checkpoint must have been written by to restore here (QEMU version, accelerator, CPU). */
  constructor(
    private readonly shmDir: string,
    private readonly format: () => Promise<string>,
  ) {}

  async removeCheckpoint(cp: Checkpoint): Promise<void> {
    for (const f of cp.files) await rm(f, { force: true });
    if (cp.memoryFile) await rm(cp.memoryFile, { force: true });
  }

  /**
   * The entry's own checkpoint: the device state copied (fsync'd), the template's RAM image on disk hard-linked (so
   * the checkpoint survives a reboot on its own), and its tmpfs copy hard-linked under a name of the clone's, which
   * every restore maps copy-on-write: one set of pages for all (the Linux counterpart of bhyve's vnode restore).
   */
  async cloneCheckpoint(base: Checkpoint, path: string): Promise<Checkpoint> {
    if (base.hypervisor !== 'qemu')
      throw new HypervisorError(`checkpoint ${base.path} was written by ${base.hypervisor}, not qemu`);
    const made: string[] = [];
    const files: string[] = [];
    let memoryFile: string | undefined;
    let memoryImage: string | undefined;
    try {
      await copyDurably(base.path, path, { syncFolder: false });
      made.push(path);
      files.push(path);
      if (base.memoryImage) {
        memoryImage = `${path}.mem`;
        await link(base.memoryImage, memoryImage);
        made.push(memoryImage);
        files.push(memoryImage);
      }
      if (base.disk) {
        const disk = `${path}.disk.qcow2`;
        await link(base.disk, disk); // never written after the checkpoint: restores layer over it read-only
        made.push(disk);
        files.push(disk);
      }
      await syncDir(dirname(path)); // all new names at once
      if (base.memoryFile) {
        memoryFile = this.checkpointMemoryPath(path);
        await link(base.memoryFile, memoryFile);
        made.push(memoryFile);
      }
    } catch (e) {
      for (const f of made) await rm(f, { force: true });
      throw new HypervisorError(`cannot clone checkpoint ${base.path} to ${path}: ${(e as Error).message}`);
    }
    const { memoryImage: _image, memoryFile: _file, disk: _disk, ...rest } = base;
    return {
      ...rest,
      path,
      files,
      ...(base.disk ? { disk: `${path}.disk.qcow2` } : {}),
      ...(memoryFile ? { memoryFile } : {}),
      ...(memoryImage ? { memoryImage } : {}),
      createdAt: new Date().toISOString(),
    };
  }

  async checkpointIntact(cp: Checkpoint): Promise<boolean> {
    // A checkpoint of another QEMU, accelerator or CPU model cannot be restored: as good as missing.
    if (cp.hypervisorVersion !== (await this.format())) return false;
    try {
      for (const f of [...cp.files, ...(cp.memoryFile ? [cp.memoryFile] : [])]) await stat(f);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * After a reboot tmpfs is empty: each memory image on disk is copied back to tmpfs once, and every checkpoint that
   * linked it gets its name linked to that one copy again, so restores keep sharing one set of pages. A memory file
   * still there is kept (and serves as the source for its siblings).
   */
  async reviveCheckpoints(checkpoints: Checkpoint[]): Promise<string[]> {
    const groups = new Map<string, Checkpoint[]>();
    for (const cp of checkpoints) {
      if (!cp.memoryFile || !cp.memoryImage) continue;
      const st = await stat(cp.memoryImage).catch(() => undefined);
      if (!st) continue; // the image is gone too: nothing to revive from (the caller drops the checkpoint)
      const key = `${st.dev}:${st.ino}`;
      groups.set(key, [...(groups.get(key) ?? []), cp]);
    }
    const made: string[] = [];
    for (const group of groups.values()) {
      let source: string | undefined;
      const missing: string[] = [];
      for (const cp of group) {
        if (
          await stat(cp.memoryFile!).then(
            () => true,
            () => false,
          )
        )
          source ??= cp.memoryFile;
        else missing.push(cp.memoryFile!);
      }
      for (const file of missing) {
        if (source) await link(source, file);
        else {
          await copyDurably(group[0]!.memoryImage!, file);
          source = file;
        }
        made.push(file);
      }
    }
    return made;
  }

  /**
   * Guest RAM files share one tmpfs folder across every pool and host on the machine, and pools of one template name
   * under different state or run folders would otherwise pick the same names (two VMs mapping one file as their RAM)
   * and take each other's files for orphans. So each name carries a tag of the folder that owns it.
   */
  static folderTag(folder: string): string {
    return createHash('sha256').update(folder).digest('hex').slice(0, 8);
  }

  /** @internal The tmpfs name of a booted VM's guest RAM: its name and its pool's run folder (the VM folder's parent). */
  vmMemoryPath(vmName: string, vmRunDir: string): string {
    return join(this.shmDir, `coppice-vm-${vmName}-${QemuCheckpointStore.folderTag(dirname(vmRunDir))}.mem`);
  }

  async removeOrphanFiles(scope: OrphanScope, referenced: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const f of await readdir(scope.checkpointDir).catch(() => [] as string[])) {
      const full = join(scope.checkpointDir, f);
      if (referenced.has(full)) continue;
      await rm(full, { force: true });
      removed.push(full);
    }
    for (const f of await readdir(this.shmDir).catch(() => [] as string[])) {
      const ckpt = /^coppice-ckpt-(.+)-([0-9a-f]{8})-[0-9a-f]{8}\.mem$/.exec(f);
      const vm = /^coppice-vm-(.+)-([0-9a-f]{8})\.mem$/.exec(f);
      const ours =
        (ckpt !== null &&
          ckpt[2] === QemuCheckpointStore.folderTag(scope.checkpointDir) &&
          scope.ownsCheckpoint(ckpt[1]!)) ||
        (vm !== null && vm[2] === QemuCheckpointStore.folderTag(scope.runDir) && scope.ownsVm(vm[1]!));
      const full = join(this.shmDir, f);
      if (!ours || referenced.has(full)) continue;
      await rm(full, { force: true });
      removed.push(full);
    }
    return removed;
  }

  /** @internal The tmpfs name of a checkpoint's guest RAM: named after the checkpoint file and its folder, unique per call. */
  checkpointMemoryPath(checkpointPath: string): string {
    const tag = QemuCheckpointStore.folderTag(dirname(checkpointPath));
    return join(
      this.shmDir,
      `coppice-ckpt-${basename(checkpointPath).replace(/[^A-Za-z0-9_.-]/g, '_')}-${tag}-${randomBytes(4).toString('hex')}.mem`,
    );
  }
}
