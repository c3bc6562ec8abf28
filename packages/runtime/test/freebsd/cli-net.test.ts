/** `coppice net` on FreeBSD: the CLI's own code path (openCubenet → pf, jails, dummynet, sysctl) against the host model. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/net.ts';
import { dummynetState } from '../freebsd-host/dnctl.ts';
import { createFreeBsdHost } from '../freebsd-host/index.ts';
import { netState } from '../freebsd-host/netif.ts';
import { pfKernel } from '../freebsd-host/pf-kernel.ts';

describe('coppice net on FreeBSD (host model)', () => {
  const host = createFreeBsdHost({ dummynet: true });
  let dir: string | undefined;
  async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    dir ??= await mkdtemp(join(tmpdir(), 'cpy-cli-'));
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    try {
      const code = await main([...args, '--prefix', 'cpy', '--state-dir', dir], {
        runner: host,
        platform: 'freebsd',
        lockDir: dir,
      });
      return { code, out: out.join('\n'), err: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('init, create, rate-limit, audit, release, teardown, each a fresh controller', async () => {
    const init = await run('init', '--egress-interface', 'em0');
    expect(init.code, init.err).toBe(0);
    expect(host.sysctls.get('net.inet.ip.forwarding')).toBe('1');
    const created = JSON.parse((await run('create', '--allow', '198.51.100.0/24', '--json')).out) as {
      id: string;
      endpoint: { hostInterface: string };
    };
    expect(created.endpoint.hostInterface).toMatch(/^cpy-e[0-9a-f]{8}$/);
    const limited = await run('rate-limit', created.id, '100', '--json');
    expect(limited.code, limited.err).toBe(0);
    expect([...dummynetState(host).pipes.values()].map((p) => p.bandwidth)).toEqual([100_000_000]);
    expect((await run('rate-limit', created.id, '0')).code).toBe(2);
    expect((await run('init', '--max-sandboxes', 'lots')).code).toBe(2);
    const audit = await run('audit', '--json');
    expect(audit.code, audit.out).toBe(0);
    expect(JSON.parse(audit.out).leaks.rateLimits).toEqual([]);
    expect((await run('release', created.id)).code).toBe(0);
    expect(dummynetState(host).pipes.size).toBe(0);
    expect((await run('teardown')).code).toBe(0);
    expect(host.sysctls.get('net.inet.ip.forwarding')).toBe('0');
    expect(netState(host).interfaces.has('cpy-br')).toBe(false);
    expect([...pfKernel(host).rulesets.keys()].filter((p) => p.startsWith('cube/'))).toEqual([]);
  });

  it('init on a host without dummynet names it, and --no-rate-limits drops the requirement', async () => {
    const bare = createFreeBsdHost();
    const dir2 = await mkdtemp(join(tmpdir(), 'cpy-cli2-'));
    const err: string[] = [];
    const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(
        await main(['init', '--prefix', 'cpz', '--state-dir', dir2], {
          runner: bare,
          platform: 'freebsd',
          lockDir: dir2,
        }),
      ).toBe(2);
      expect(err.join('\n')).toMatch(/kldload dummynet/);
      expect(
        await main(['init', '--no-rate-limits', '--prefix', 'cpz', '--state-dir', dir2], {
          runner: bare,
          platform: 'freebsd',
          lockDir: dir2,
        }),
      ).toBe(0);
      expect(
        await main(['teardown', '--no-rate-limits', '--prefix', 'cpz', '--state-dir', dir2], {
          runner: bare,
          platform: 'freebsd',
          lockDir: dir2,
        }),
      ).toBe(0);
    } finally {
      error.mockRestore();
      log.mockRestore();
      await rm(dir2, { recursive: true, force: true });
    }
  });
});
