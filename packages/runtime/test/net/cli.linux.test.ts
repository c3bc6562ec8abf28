/** `coppice net ...` end to end on the real kernel (prefix "cpv", 10.82.0.0/24), each command a fresh controller. */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/net.ts';
import { canRunKernelTests, kernelSnapshot, tempDir } from './helpers.ts';

const skip = await canRunKernelTests();

describe.skipIf(skip)('coppice net', () => {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  const common = async () => {
    dir ??= await tempDir();
    return ['--prefix', 'cpv', '--state-dir', dir.path, '--ipv4', '10.82.0.0/24', '--ipv6', 'fd82::/64'];
  };
  async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    try {
      const code = await main([...args, ...(await common())]);
      return { code, out: out.join('\n'), err: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }
  afterAll(async () => {
    await run('teardown');
    await dir?.remove();
  });

  it('init, create, policy, forward, list, audit, release with --json', async () => {
    expect((await run('init')).code).toBe(0);
    const created = await run('create', '--allow', '192.0.2.0/24', '--forward', 'tcp:28181:80', '--json');
    expect(created.code).toBe(0);
    const sandbox = JSON.parse(created.out) as { id: string; addresses: { ipv4: string }; forwards: unknown[] };
    expect(sandbox.addresses.ipv4).toMatch(/^10\.82\.0\.\d+$/);
    expect(sandbox.forwards).toEqual([{ protocol: 'tcp', hostPort: 28181, sandboxPort: 80 }]);
    const policy = JSON.parse(
      (
        await run(
          'policy',
          sandbox.id,
          '--policy',
          '{"denyOut":["198.51.100.0/24"],"allowInternetAccess":true}',
          '--json',
        )
      ).out,
    );
    expect(policy.policy).toEqual({
      allowOut: [],
      denyOut: ['198.51.100.0/24'],
      dnsAllow: [],
      allowInternetAccess: true,
    });
    expect((await run('forward', sandbox.id, 'remove', '28181:80')).code).toBe(0);
    const list = JSON.parse((await run('list', '--json')).out) as Array<{ id: string }>;
    expect(list.map((s) => s.id)).toEqual([sandbox.id]);
    expect((await run('audit')).code).toBe(0);
    expect((await run('release', sandbox.id)).code).toBe(0);
    expect(JSON.parse((await run('list', '--json')).out)).toEqual([]);
    const audit = JSON.parse((await run('audit', '--json')).out);
    expect(audit.ok).toBe(true);
  });

  it('rejects hostile arguments with exit 2 and a clear message, changing nothing', async () => {
    await run('init');
    const before = await kernelSnapshot('cpv');
    const cases: Array<[string[], RegExp]> = [
      [['create', '--allow', '10.0.0.1; nft flush ruleset'], /allowOut\[0\]/],
      [['create', '--forward', '80:80\n'], /forward/],
      [['create', '--policy', '{"allowOut":["::/0"],"extra":1}'], /unknown key "extra"/],
      [['policy', '$(id)', '--allow', '1.1.1.1'], /sandbox id/],
      [['forward', '0123456789ab', 'flush', '80:80'], /add or remove/],
      [['create', '--kind', 'vm;reboot'], /kind/],
      [['create', '--bogus'], /Unknown option/],
    ];
    for (const [args, message] of cases) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
    }
    expect(await kernelSnapshot('cpv')).toBe(before);
  });
});
