import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Checkpoint, VmRecord } from '../hypervisor/hypervisor.ts';
import type { PoolMode } from './config.ts';
import type { NetLease } from './network.ts';

export type Tier = 'hot' | 'durable';

export interface EntryRecord {
  id: string;
  /** Where the entry sits while idle; a checked-out entry keeps the tier it came from. */
  tier: Tier | 'boot';
  status: 'idle' | 'checked-out';
  vm?: VmRecord;
  checkpoint?: Checkpoint;
  net?: NetLease;
  createdAt: string;
  checkedOutAt?: string;
}

export interface PoolState {
  version: 1;
  template: string;
  mode: PoolMode;
  /** The template checkpoint every entry is made from. */
  base?: Checkpoint;
  entries: EntryRecord[];
}

/**
 * The pool's state file `<stateDir>/<template>.json`, written atomically (temp file, fsync, rename). Writes are
 * serialised and coalesced: concurrent callers all resolve once a write containing their change is on disk.
 */
export class PoolStateFile {
  readonly path: string;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(stateDir: string, template: string) {
    this.path = join(stateDir, `${template}.json`);
  }

  async load(): Promise<PoolState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const parsed = JSON.parse(text) as PoolState;
    if (parsed.version !== 1 || !Array.isArray(parsed.entries)) throw new Error(`${this.path}: not a pool state file (version 1)`);
    return parsed;
  }

  save(snapshot: () => PoolState): Promise<void> {
    this.dirty = true;
    this.writing = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      await writeAtomic(this.path, JSON.stringify(snapshot(), null, 1) + '\n');
    });
    return this.writing;
  }

  async remove(): Promise<void> {
    await this.writing;
    await rm(this.path, { force: true });
  }
}

export async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
