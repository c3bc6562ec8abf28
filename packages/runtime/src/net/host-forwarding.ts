/**
 * Host-wide IP forwarding, which forwards and egress NAT need. It is one setting per host, and several cubenets
 * (prefixes, possibly in other processes) may rely on it at once, so the record is host-wide too:
 * `<dir>/<recordName>.json` holds the values found before the first cubenet turned forwarding on and the prefixes
 * that use it. enable() records before it writes (a crash after a write still leaves what to put back). restore()
 * takes its prefix off the list and puts the old values back only when the list is empty, and only where the value
 * is still what enable() set (an operator who changed it since keeps the change). The record lives beside the
 * controller locks (/run: gone after a reboot, like the setting it restores). A prefix that never tears down keeps
 * forwarding on. Each platform supplies only how to read and write its switches (ForwardingSwitches).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../host/durable-files.ts';
import { readBack, viaParser } from '../host/read-back.ts';
import type { HostForwarding } from './cubenet.ts';
import { acquireLock } from './lock.ts';
import { parsePrefix } from './validate.ts';

/** The platform's forwarding switches (Linux: /proc files; FreeBSD: sysctls), each "0"/"1"-like decimal text. */
export interface ForwardingSwitches<Name extends string> {
  readonly names: readonly Name[];
  read(): Promise<Record<Name, string>>;
  write(name: Name, value: string): Promise<void>;
}

interface ForwardingRecord<Name extends string> {
  /** Values found before cubenet turned them on (only the switches it changed). */
  before: Partial<Record<Name, string>>;
  users: string[];
}

export class SharedHostForwarding<Name extends string> implements HostForwarding {
  constructor(
    private readonly switches: ForwardingSwitches<Name>,
    /** Host-wide folder of the record and its lock (the controller lock folder). */
    private readonly dir: string,
    private readonly prefix: string,
    /** File name stem of the record and its lock. */
    private readonly recordName: string,
  ) {}

  get recordFile(): string {
    return join(this.dir, `${this.recordName}.json`);
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Held for a few operations; a second controller retries while it is taken.
    for (let attempt = 0; ; attempt++) {
      try {
        const unlock = await acquireLock(join(this.dir, `${this.recordName}.lock`));
        try {
          return await fn();
        } finally {
          await unlock();
        }
      } catch (e) {
        if ((e as Error).name !== 'LockHeldError' || attempt >= 50) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** The record; a corrupt one is refused (CorruptFileError naming the field) and left as it is, switches untouched. */
  private async record(): Promise<ForwardingRecord<Name> | undefined> {
    const schema = z.object({
      before: z.partialRecord(
        z.enum(this.switches.names as [Name, ...Name[]]),
        z.string().regex(/^\d{1,10}$/, 'expected a decimal switch value'),
      ),
      users: z.array(viaParser(parsePrefix)),
    });
    return (await readBack(this.recordFile, schema)) as ForwardingRecord<Name> | undefined;
  }

  private async save(r: ForwardingRecord<Name>): Promise<void> {
    await writeFileAtomic(this.recordFile, JSON.stringify(r));
  }

  async enable(): Promise<void> {
    await this.locked(async () => {
      const record: ForwardingRecord<Name> = (await this.record()) ?? { before: {}, users: [] };
      const now = await this.switches.read();
      const off = this.switches.names.filter((name) => now[name] !== '1');
      // The first value found is the one to put back; a later init (of any prefix) keeps it.
      for (const name of off)
        if (record.before[name] === undefined && record.users.length === 0) record.before[name] = now[name];
      if (!record.users.includes(this.prefix)) record.users.push(this.prefix);
      await this.save(record);
      for (const name of off) await this.switches.write(name, '1');
    });
  }

  async restore(): Promise<void> {
    await this.locked(async () => {
      const record = await this.record();
      if (!record) return;
      record.users = record.users.filter((u) => u !== this.prefix);
      if (record.users.length) return this.save(record);
      const now = await this.switches.read();
      for (const name of this.switches.names) {
        const before = record.before[name];
        if (before !== undefined && /^\d+$/.test(before) && now[name] === '1') await this.switches.write(name, before);
      }
      await rm(this.recordFile, { force: true });
    });
  }
}
