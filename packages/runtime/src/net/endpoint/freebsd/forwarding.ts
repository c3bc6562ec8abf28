/**
 * IP forwarding on a FreeBSD host (sysctl(8): `net.inet.ip.forwarding`, `net.inet6.ip6.forwarding`), which forwards
 * and egress NAT need. The same contract as Linux's ProcForwarding (`src/net/endpoint/linux/forwarding.ts`), with
 * sysctl instead of /proc: the setting is host-wide and several cubenets (prefixes, possibly in other processes) may
 * rely on it, so the record is host-wide too: `<dir>/forwarding-sysctl.json` holds the values found before the first
 * cubenet turned forwarding on and the prefixes that use it. restore() takes its prefix off the list and puts the
 * old values back only when the list is empty, and only where the value is still what enable() set (an operator who
 * changed it since keeps the change). The record lives beside the controller locks (/var/run: gone after a reboot,
 * like the setting it restores).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CommandRunner, runChecked } from '../../../host/command-runner.ts';
import type { HostForwarding } from '../../cubenet.ts';
import { acquireLock } from '../../lock.ts';

export const FORWARDING_SYSCTLS = ['net.inet.ip.forwarding', 'net.inet6.ip6.forwarding'] as const;

type Sysctl = (typeof FORWARDING_SYSCTLS)[number];

interface ForwardingRecord {
  /** Values found before cubenet turned them on (only the sysctls it changed). */
  before: Partial<Record<Sysctl, string>>;
  users: string[];
}

export class SysctlForwarding implements HostForwarding {
  constructor(
    private readonly runner: CommandRunner,
    /** Host-wide folder of the record and its lock (the controller lock folder). */
    private readonly dir: string,
    private readonly prefix: string,
  ) {}

  get recordFile(): string {
    return join(this.dir, 'forwarding-sysctl.json');
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Held for a few commands; a second controller retries while it is taken.
    for (let attempt = 0; ; attempt++) {
      try {
        const unlock = await acquireLock(join(this.dir, 'forwarding-sysctl.lock'));
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

  private async read(): Promise<Record<Sysctl, string>> {
    const r = await runChecked(this.runner, ['sysctl', '-n', ...FORWARDING_SYSCTLS]);
    const values = r.stdout.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
    if (values.length !== FORWARDING_SYSCTLS.length || values.some((v) => !/^\d+$/.test(v))) {
      throw new Error(`sysctl -n ${FORWARDING_SYSCTLS.join(' ')} printed ${JSON.stringify(r.stdout)}, not ${FORWARDING_SYSCTLS.length} numbers`);
    }
    return Object.fromEntries(FORWARDING_SYSCTLS.map((name, i) => [name, values[i]!])) as Record<Sysctl, string>;
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
      const now = await this.read();
      const off = FORWARDING_SYSCTLS.filter((name) => now[name] !== '1');
      // The first value found is the one to put back; a later init (of any prefix) keeps it.
      for (const name of off) if (record.before[name] === undefined && record.users.length === 0) record.before[name] = now[name];
      if (!record.users.includes(this.prefix)) record.users.push(this.prefix);
      // Recorded before anything changes: a crash after a sysctl write still leaves what to put back.
      await this.save(record);
      for (const name of off) await runChecked(this.runner, ['sysctl', `${name}=1`]);
    });
  }

  async restore(): Promise<void> {
    await this.locked(async () => {
      const record = await this.record();
      if (!record) return;
      record.users = record.users.filter((u) => u !== this.prefix);
      if (record.users.length) return this.save(record);
      const now = await this.read();
      for (const name of FORWARDING_SYSCTLS) {
        const before = record.before[name];
        if (before !== undefined && /^\d+$/.test(before) && now[name] === '1') await runChecked(this.runner, ['sysctl', `${name}=${before}`]);
      }
      await rm(this.recordFile, { force: true });
    });
  }
}
