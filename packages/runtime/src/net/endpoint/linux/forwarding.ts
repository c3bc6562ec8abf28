/**
 * IP forwarding on a Linux host (`/proc/sys/net/ipv4/ip_forward`, `/proc/sys/net/ipv6/conf/all/forwarding`), which
 * forwards and egress NAT need. It is host-wide, and several cubenets (prefixes, possibly in other processes) may
 * rely on it at once, so the record is host-wide too: `<dir>/forwarding.json` holds the values found before the
 * first cubenet turned forwarding on and the prefixes that use it. restore() takes its prefix off the list and puts
 * the old values back only when the list is empty, and only where the value is still what enable() set (an operator
 * who changed it since keeps the change). The record lives beside the controller locks (/run: gone after a reboot,
 * like the setting it restores). A prefix that never tears down keeps forwarding on.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostForwarding } from '../../cubenet.ts';
import { acquireLock } from '../../lock.ts';

export const FORWARDING_FILES = {
  ipv4: '/proc/sys/net/ipv4/ip_forward',
  ipv6: '/proc/sys/net/ipv6/conf/all/forwarding',
} as const;

type Family = keyof typeof FORWARDING_FILES;

interface ForwardingRecord {
  /** Values found before cubenet turned them on (only the families it changed). */
  before: Partial<Record<Family, string>>;
  users: string[];
}

export class ProcForwarding implements HostForwarding {
  constructor(
    /** Host-wide folder of the record and its lock (the controller lock folder). */
    private readonly dir: string,
    private readonly prefix: string,
    private readonly files: Record<Family, string> = FORWARDING_FILES,
  ) {}

  private get recordFile(): string {
    return join(this.dir, 'forwarding.json');
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // The lock is held for a few file operations; a second controller retries while it is taken.
    for (let attempt = 0; ; attempt++) {
      try {
        const unlock = await acquireLock(join(this.dir, 'forwarding.lock'));
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

  private async value(family: Family): Promise<string> {
    return (await readFile(this.files[family], 'utf8')).trim();
  }

  private async record(): Promise<ForwardingRecord | undefined> {
    try {
      const r = JSON.parse(await readFile(this.recordFile, 'utf8')) as ForwardingRecord;
      return { before: r.before ?? {}, users: Array.isArray(r.users) ? r.users : [] };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  private async save(r: ForwardingRecord): Promise<void> {
    const tmp = `${this.recordFile}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(r));
    await rename(tmp, this.recordFile);
  }

  async enable(): Promise<void> {
    await this.locked(async () => {
      const record = (await this.record()) ?? { before: {}, users: [] };
      for (const family of ['ipv4', 'ipv6'] as const) {
        const now = await this.value(family);
        if (now === '1') continue;
        // The first value found is the one to put back; a later init keeps it.
        if (record.before[family] === undefined && record.users.length === 0) record.before[family] = now;
        await writeFile(this.files[family], '1\n');
      }
      if (!record.users.includes(this.prefix)) record.users.push(this.prefix);
      await this.save(record);
    });
  }

  async restore(): Promise<void> {
    await this.locked(async () => {
      const record = await this.record();
      if (!record) return;
      record.users = record.users.filter((u) => u !== this.prefix);
      if (record.users.length) return this.save(record);
      for (const family of ['ipv4', 'ipv6'] as const) {
        const before = record.before[family];
        if (before !== undefined && /^\d+$/.test(before) && (await this.value(family)) === '1') await writeFile(this.files[family], `${before}\n`);
      }
      await rm(this.recordFile, { force: true });
    });
  }
}
