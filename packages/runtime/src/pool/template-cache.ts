/**
 * Template checkpoints shared across pools: the first pool of a guest image boots it once and leaves a copy of its
 * template checkpoint here (`<dir>/cache-<image>.state`, memory hard-linked, not copied); every later pool of the
 * same image, in this process or another (tests, rigs, a restarted host with a new state folder), clones that
 * instead of booting. A Debian template under TCG takes minutes to boot; a clone takes milliseconds.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../host/durable-files.ts';
import { readBack } from '../host/read-back.ts';
import type { Checkpoint, CheckpointStore } from '../hypervisor/hypervisor.ts';
import { acquireLock } from '../net/lock.ts';
import { checkpointSchema } from './state-schema.ts';

export class TemplateCheckpointCache {
  constructor(
    readonly dir: string,
    private readonly store: CheckpointStore,
  ) {}

  private record(image: string): string {
    return join(this.dir, `cache-${image}.json`);
  }

  private async cached(image: string): Promise<Checkpoint | undefined> {
    const cp = (await readBack(this.record(image), checkpointSchema(this.dir)).catch(() => undefined)) as
      | Checkpoint
      | undefined;
    return cp && cp.image === image && (await this.store.checkpointIntact(cp)) ? cp : undefined;
  }

  /** A clone at `path` of the cached template checkpoint of `image`, or undefined when none is cached (or intact). */
  async take(image: string, path: string): Promise<Checkpoint | undefined> {
    if (!this.store.cloneCheckpoint) return undefined;
    const cp = await this.cached(image);
    return cp ? this.store.cloneCheckpoint(cp, path) : undefined;
  }

  /** Removes the cached checkpoint of `image` (its files, its tmpfs memory file and its record). */
  async remove(image: string): Promise<void> {
    const cp = (await readBack(this.record(image), checkpointSchema(this.dir)).catch(() => undefined)) as
      | Checkpoint
      | undefined;
    if (cp) await this.store.removeCheckpoint(cp);
    await rm(this.record(image), { force: true });
  }

  /** Leaves a clone of a freshly built template checkpoint for later pools (one writer at a time; an intact one stays). */
  async put(cp: Checkpoint): Promise<void> {
    if (!this.store.cloneCheckpoint) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const unlock = await acquireLock(join(this.dir, `cache-${cp.image}.lock`));
    try {
      const old = (await readBack(this.record(cp.image), checkpointSchema(this.dir)).catch(() => undefined)) as
        | Checkpoint
        | undefined;
      if (old && (await this.store.checkpointIntact(old))) return;
      if (old) await this.store.removeCheckpoint(old);
      const copy = await this.store.cloneCheckpoint(cp, join(this.dir, `cache-${cp.image}.state`));
      await writeFileAtomic(this.record(cp.image), `${JSON.stringify(copy)}\n`);
    } finally {
      await unlock();
    }
  }
}
