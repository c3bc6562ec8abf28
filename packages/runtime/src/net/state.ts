/**
 * The controller's belief, on disk: one JSON file per active sandbox under `<stateDir>/<prefix>/`, each written
 * atomically (host/durable-files.ts writeFileAtomicUnsynced: temp file + rename in the same folder, no fsync), so a
 * controller killed with SIGKILL at any instant leaves every file either old or new, never torn. A sandbox's file is written only after its kernel objects exist and
 * removed before they are torn down, so whatever the kernel holds beyond the files is a leftover that reconcile
 * may remove. (No fsync: the guarantee is against a killed process, not a power cut; after a reboot the kernel
 * objects are gone anyway.)
 *
 * Each write renames to a new name, `<id>.<n>.json` with n one more than the last, and then deletes the previous
 * file: a rename over an existing file makes ext4 start writing the new file's data back at once (auto_da_alloc),
 * ~0.2 ms on a quiet host and ~0.8 ms on a loaded one, on the critical path of every policy change; a rename to a
 * new name costs ~0.04 ms. A controller killed between the rename and the delete leaves two files; the highest n is
 * the newer, and load deletes the others. (`<id>.json`, the name before this scheme, counts as the lowest.)
 */
import { unlinkSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomicUnsynced } from '../host/durable-files.ts';
import { CorruptFileError, parseReadBack } from '../host/read-back.ts';
import type { Endpoint } from './endpoint/endpoint.ts';
import type { PortForward, SandboxAddresses, SandboxId, SandboxPolicy } from './types.ts';
import type { RateLimit } from './rate-limit/rate-limit.ts';
import { sandboxRecordSchema } from './state-schema.ts';

export interface SandboxRecord {
  id: SandboxId;
  /** Host number in the subnet (ipam). */
  host: number;
  addresses: SandboxAddresses;
  endpoint: Endpoint;
  policy: SandboxPolicy;
  forwards: PortForward[];
  createdAt: string;
  /** Egress limit set with setRateLimit (absent: unlimited). */
  rateLimit?: RateLimit;
}

export class StateStore {
  readonly dir: string;
  /** The number n of each sandbox's current file. */
  private readonly versions = new Map<SandboxId, number>();

  constructor(stateDir: string, prefix: string) {
    this.dir = join(stateDir, prefix);
  }

  async ensure(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Synchronous on purpose (writeFileAtomicUnsynced): a record is a few KB to ~60 KB (a 1 000-entry list) into the
   * page cache, no fsync, which costs tens of microseconds on the event loop, while the promise API's
   * open/write/close/rename are four hops through the thread pool (~1 ms on a loaded 2-vCPU host, on every policy
   * change's critical path).
   */
  async write(record: SandboxRecord): Promise<void> {
    const previous = this.versions.get(record.id);
    const version = (previous ?? -1) + 1;
    writeFileAtomicUnsynced(this.path(record.id, version), JSON.stringify(record));
    this.versions.set(record.id, version);
    if (previous !== undefined) unlinkIfPresent(this.path(record.id, previous));
  }

  async remove(id: SandboxId): Promise<void> {
    const version = this.versions.get(id);
    if (version !== undefined) unlinkIfPresent(this.path(id, version));
    unlinkIfPresent(this.path(id, -1));
    this.versions.delete(id);
  }

  /** `<id>.<n>.json`; n = -1 is the name of the earlier scheme, `<id>.json`. */
  private path(id: SandboxId, version: number): string {
    return join(this.dir, version < 0 ? `${id}.json` : `${id}.${version}.json`);
  }

  /**
   * Reads every record (the highest-numbered file of each sandbox; lower ones, left by a writer killed between its
   * rename and its delete, are deleted); temp files left by a killed writer are deleted. A file that fails its schema
   * (src/net/state-schema.ts) is reported naming the field, and it and its older versions are left in place.
   */
  async load(): Promise<{ records: SandboxRecord[]; problems: string[] }> {
    await this.ensure();
    const records: SandboxRecord[] = [];
    const problems: string[] = [];
    const found = new Map<SandboxId, number[]>();
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.tmp')) {
        await rm(join(this.dir, name), { force: true });
        continue;
      }
      const m = /^([0-9a-f]{12})(?:\.(0|[1-9][0-9]{0,15}))?\.json$/.exec(name);
      if (!m) continue;
      const id = m[1] as SandboxId;
      found.set(id, [...(found.get(id) ?? []), m[2] === undefined ? -1 : Number(m[2])]);
    }
    for (const [id, versions] of found) {
      const newest = Math.max(...versions);
      this.versions.set(id, newest);
      const path = this.path(id, newest);
      try {
        records.push(await parseReadBack(path, await readFile(path, 'utf8'), sandboxRecordSchema(id)));
      } catch (e) {
        // Refused: the file and its older versions stay as they are, for the operator to look at.
        problems.push(e instanceof CorruptFileError ? e.message : `${path}: ${(e as Error).message}`);
        continue;
      }
      for (const v of versions) if (v !== newest) unlinkIfPresent(this.path(id, v));
    }
    return { records, problems };
  }
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
