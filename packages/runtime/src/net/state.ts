/**
 * The controller's belief, on disk: one JSON file per active sandbox under `<stateDir>/<prefix>/`, each written
 * atomically (temp file + rename in the same folder), so a controller killed with SIGKILL at any instant leaves
 * every file either old or new, never torn. A sandbox's file is written only after its kernel objects exist and
 * removed before they are torn down, so whatever the kernel holds beyond the files is a leftover that reconcile
 * may remove. (No fsync: the guarantee is against a killed process, not a power cut; after a reboot the kernel
 * objects are gone anyway.)
 */
import { renameSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Endpoint } from './endpoint/endpoint.ts';
import type { PortForward, SandboxAddresses, SandboxId, SandboxPolicy } from './types.ts';
import { parseRateLimit, type RateLimit } from './rate-limit/rate-limit.ts';
import { parseForward, parseInterfaceName, parsePolicy, parseSandboxAddresses, parseSandboxId } from './validate.ts';

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
  private seq = 0;

  constructor(stateDir: string, prefix: string) {
    this.dir = join(stateDir, prefix);
  }

  async ensure(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Synchronous on purpose: a record is a few KB to ~60 KB (a 1 000-entry list) into the page cache, no fsync, which
   * costs tens of microseconds on the event loop, while the promise API's open/write/close/rename are four hops
   * through the thread pool (~1 ms on a loaded 2-vCPU host, on every policy change's critical path).
   */
  async write(record: SandboxRecord): Promise<void> {
    const file = join(this.dir, `${record.id}.json`);
    const tmp = join(this.dir, `.${record.id}.${process.pid}.${this.seq++}.tmp`);
    writeFileSync(tmp, JSON.stringify(record));
    renameSync(tmp, file);
  }

  async remove(id: SandboxId): Promise<void> {
    await rm(join(this.dir, `${id}.json`), { force: true });
  }

  /** Reads every record; temp files left by a killed writer are deleted, unreadable files are reported. */
  async load(): Promise<{ records: SandboxRecord[]; problems: string[] }> {
    await this.ensure();
    const records: SandboxRecord[] = [];
    const problems: string[] = [];
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      if (name.endsWith('.tmp')) {
        await rm(path, { force: true });
        continue;
      }
      if (!/^[0-9a-f]{12}\.json$/.test(name)) continue;
      try {
        records.push(parseRecord(JSON.parse(await readFile(path, 'utf8'))));
      } catch (e) {
        problems.push(`${path}: ${(e as Error).message}`);
      }
    }
    return { records, problems };
  }
}

function parseRecord(v: Record<string, unknown>): SandboxRecord {
  const endpoint = v.endpoint as Record<string, unknown>;
  if (typeof v.host !== 'number' || !endpoint || (endpoint.kind !== 'tap' && endpoint.kind !== 'isolated')) {
    throw new Error('not a sandbox record');
  }
  return {
    id: parseSandboxId(v.id),
    host: v.host,
    addresses: parseSandboxAddresses(v.addresses),
    endpoint: {
      kind: endpoint.kind,
      hostInterface: parseInterfaceName(endpoint.hostInterface),
      ...(endpoint.isolation ? { isolation: parseInterfaceName(endpoint.isolation) } : {}),
    },
    policy: parsePolicy(v.policy),
    forwards: ((v.forwards as unknown[]) ?? []).map((f) => parseForward(f)),
    createdAt: String(v.createdAt),
    ...(v.rateLimit !== undefined ? { rateLimit: parseRateLimit(v.rateLimit) } : {}),
  };
}
