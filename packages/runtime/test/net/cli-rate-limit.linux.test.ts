/** `coppice net rate-limit` end to end on the real kernel (prefix "cpw", 10.233.0.0/24), each command a fresh controller. */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/net.ts';
import { runChecked } from '../../src/host/command-runner.ts';
import { canRunKernelTests, runner, tempDir } from './helpers.ts';

const skip = await canRunKernelTests();

describe.skipIf(skip)('coppice net rate-limit', () => {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    dir ??= await tempDir();
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    try {
      const code = await main([
        ...args,
        '--prefix',
        'cpw',
        '--state-dir',
        dir.path,
        '--ipv4',
        '10.233.0.0/24',
        '--ipv6',
        'fd33::/64',
      ]);
      return { code, out: out.join('\n'), err: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }
  const tbfs = async () =>
    (
      JSON.parse((await runChecked(runner, ['tc', '-j', 'qdisc', 'show'])).stdout) as Array<{
        kind: string;
        dev: string;
        options?: { rate?: number };
      }>
    ).filter((q) => q.dev.startsWith('cpw_rl'));
  afterAll(async () => {
    await run('teardown');
    await dir?.remove();
  });

  it('sets, shows, refuses bad rates with exit 2, clears, and audits clean', async () => {
    expect((await run('init')).code).toBe(0);
    const id = (JSON.parse((await run('create', '--json')).out) as { id: string }).id;
    const limited = await run('rate-limit', id, '60', '--json');
    expect(limited.code).toBe(0);
    expect(JSON.parse(limited.out).rateLimit).toEqual({ egressMbit: 60 });
    expect((await tbfs()).map((q) => q.options?.rate)).toEqual([7_500_000]);
    expect((await run('list')).out).toContain('egress<=60Mbit/s');
    for (const bad of [
      ['rate-limit', id, '0'],
      ['rate-limit', id, '2001'],
      ['rate-limit', id, '1.5'],
      ['rate-limit', id, '10;reboot'],
      ['rate-limit', id],
      ['rate-limit', '../x', '10'],
    ]) {
      const r = await run(...bad);
      expect(r.code, bad.join(' ')).toBe(2);
    }
    expect((await tbfs()).map((q) => q.options?.rate)).toEqual([7_500_000]);
    expect((await run('audit')).code).toBe(0);
    expect((await run('rate-limit', id, 'off')).code).toBe(0);
    expect(await tbfs()).toEqual([]);
    expect((await run('release', id)).code).toBe(0);
    expect((await run('audit')).code).toBe(0);
  });
});
