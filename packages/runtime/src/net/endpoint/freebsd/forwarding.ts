/**
 * IP forwarding on a FreeBSD host (sysctl(8): `net.inet.ip.forwarding`, `net.inet6.ip6.forwarding`), which forwards
 * and egress NAT need. enable() sets only what is off and records the values it found in a file beside the state,
 * so a later teardown, possibly by another process, puts them back; restore() resets a value only if it still is
 * what enable() set (an operator who changed it since keeps the change).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type CommandRunner, runChecked } from '../../../host/command-runner.ts';
import type { HostForwarding } from '../../cubenet.ts';

export const FORWARDING_SYSCTLS = ['net.inet.ip.forwarding', 'net.inet6.ip6.forwarding'] as const;

type Recorded = Partial<Record<(typeof FORWARDING_SYSCTLS)[number], string>>;

export class SysctlForwarding implements HostForwarding {
  constructor(
    private readonly runner: CommandRunner,
    /** Where the values found before enable() are kept until restore(). */
    private readonly recordFile: string,
  ) {}

  private async read(): Promise<Record<string, string>> {
    const r = await runChecked(this.runner, ['sysctl', '-n', ...FORWARDING_SYSCTLS]);
    const values = r.stdout.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
    if (values.length !== FORWARDING_SYSCTLS.length || values.some((v) => !/^\d+$/.test(v))) {
      throw new Error(`sysctl -n ${FORWARDING_SYSCTLS.join(' ')} printed ${JSON.stringify(r.stdout)}, not ${FORWARDING_SYSCTLS.length} numbers`);
    }
    return Object.fromEntries(FORWARDING_SYSCTLS.map((name, i) => [name, values[i]!]));
  }

  private async recorded(): Promise<Recorded | undefined> {
    try {
      return JSON.parse(await readFile(this.recordFile, 'utf8')) as Recorded;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async enable(): Promise<void> {
    const now = await this.read();
    const off = FORWARDING_SYSCTLS.filter((name) => now[name] !== '1');
    if (!off.length) return;
    // A second init keeps the first record: it holds the values from before cubenet touched anything.
    const record: Recorded = { ...Object.fromEntries(off.map((name) => [name, now[name]!])), ...(await this.recorded()) };
    await mkdir(dirname(this.recordFile), { recursive: true });
    await writeFile(this.recordFile, JSON.stringify(record));
    for (const name of off) await runChecked(this.runner, ['sysctl', `${name}=1`]);
  }

  async restore(): Promise<void> {
    const record = await this.recorded();
    if (!record) return;
    const now = await this.read();
    for (const name of FORWARDING_SYSCTLS) {
      const before = record[name];
      if (before === undefined || !/^\d+$/.test(before) || now[name] !== '1') continue;
      await runChecked(this.runner, ['sysctl', `${name}=${before}`]);
    }
    await rm(this.recordFile, { force: true });
  }
}
