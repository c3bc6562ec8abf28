/**
 * Template checkpoints shared across pools: the first pool of a guest image boots it once and leaves a copy of its
 * template checkpoint here (`<dir>/cache-<image>-<memory>m<vcpus>c.state`, memory hard-linked, not copied); every later pool of the
 * same image, in this process or another (tests, rigs, a restarted host with a new state folder), clones that
 * instead of booting. A Debian template under TCG takes minutes to boot; a clone takes milliseconds.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../host/durable-files.ts';
import { readBack } from '../host/read-back.ts';
import type { Checkpoint, CheckpointStore, GuestImage } from '../hypervisor/hypervisor.ts';
import { acquireLock } from '../net/lock.ts';
import { checkpointSchema } from './state-schema.ts';

/**
 * One cached checkpoint per image and machine shape: a checkpoint holds the guest's RAM and CPUs, so one image
 * sized differently (a rig's 512 MiB `base`, the host's 256 MiB) is another checkpoint, not a mismatch.
 */
const cacheKey = (image: GuestImage) => `${image.name}-${image.memoryMiB}m${image.vcpus}c`;

export class TemplateCheckpointCache {
  constructor(
    readonly dir: string,
    private readonly store: CheckpointStore,
  ) {}

  private record(key: string): string {
    return join(this.dir, `cache-${key}.json`);
  }

  private async cached(image: GuestImage): Promise<Checkpoint | undefined> {
    const cp = (await readBack(this.record(cacheKey(image)), checkpointSchema(this.dir)).catch(() => undefined)) as
      | Checkpoint
      | undefined;
    return cp && cp.image === image.name && (await this.store.checkpointIntact(cp)) ? cp : undefined;
  }

  /** A clone at `path` of the cached template checkpoint of `image`, or undefined when none is cached (or intact). */
  async take(image: GuestImage, path: string): Promise<Checkpoint | undefined> {
    if (!this.store.cloneCheckpoint) return undefined;
    const cp = await this.cached(image);
    return cp ? this.store.cloneCheckpoint(cp, path) : undefined;
  }

  /** Removes the cached checkpoint of `image` (its files, its tmpfs memory file and its record). */
  async remove(image: GuestImage): Promise<void> {
    const record = this.record(cacheKey(image));
    const cp = (await readBack(record, checkpointSchema(this.dir)).catch(() => undefined)) as Checkpoint | undefined;
    if (cp) await this.store.removeCheckpoint(cp);
    await rm(record, { force: true });
  }

  /**
   * Leaves a clone of a freshly built template checkpoint of `image` for later pools (one writer at a time; an intact
   * one stays).
   */
  async put(cp: Checkpoint, image: GuestImage): Promise<void> {
    if (!this.store.cloneCheckpoint) return;
    const key = cacheKey(image);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const unlock = await acquireLock(join(this.dir, `cache-${key}.lock`));
    try {
      const old = (await readBack(this.record(key), checkpointSchema(this.dir)).catch(() => undefined)) as
        | Checkpoint
        | undefined;
      if (old && (await this.store.checkpointIntact(old))) return;
      if (old) await this.store.removeCheckpoint(old);
      const copy = await this.store.cloneCheckpoint(cp, join(this.dir, `cache-${key}.state`));
      await writeFileAtomic(this.record(key), `${JSON.stringify(copy)}\n`);
    } finally {
      await unlock();
    }
  }
}
