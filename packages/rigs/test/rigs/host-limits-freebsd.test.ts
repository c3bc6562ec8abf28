import { describe, expect, it } from 'vitest';
import { ProcessRunner } from '@coppice/runtime';
import { hostLimitsManifest } from '../../src/rigs/host-limits/manifest.ts';
import { createJailPair } from '../../src/lib/net/jail-pair.ts';
import { firewallNoopArgv } from '../../src/lib/host/firewall-noop.ts';
import { preflight } from '../../src/rigs/host-limits/rig.ts';
// The shared FreeBSD host model (tests only): it accepts what the real tools accept and keeps the kernel objects.
import { createFreeBsdHost, type FreeBsdHost } from '../../../runtime/test/freebsd-host/index.ts';
import { fakeHost, rigTestContext } from '../harness/helpers.ts';

function context(runner: FreeBsdHost) {
  return rigTestContext(hostLimitsManifest, { runner, host: { ...fakeHost, platform: 'freebsd' }, tmpName: 'fbsd' });
}

const run = async (host: FreeBsdHost, argv: string[]) => (await host.run(argv)).stdout.trim();

describe('host-limits on FreeBSD (host model)', () => {
  it('builds two VNET jails on a bridge with the commands the real tools accept, and its cleanups remove all of it', async () => {
    const host = createFreeBsdHost();
    const ctx = context(host);
    const pair = await createJailPair(ctx, 'abc123');
    expect(pair.execA).toEqual(['jexec', 'cpr-abc123-a']);
    expect((await run(host, ['jls', 'name'])).split('\n').sort()).toEqual(['cpr-abc123-a', 'cpr-abc123-b']);
    expect(await run(host, ['jexec', 'cpr-abc123-b', 'ifconfig', 'epair1b'])).toContain('inet 10.123.0.2');
    expect(await run(host, ['jexec', 'cpr-abc123-b', 'ifconfig', 'epair1b'])).toContain('inet6 fd7b::2 prefixlen 64');
    expect(pair.addr6A).toBe('fd7b::1');
    const hostIfaces = (await run(host, ['ifconfig', '-l'])).split(/\s+/);
    expect(hostIfaces).toEqual(expect.arrayContaining(['bridge0', 'epair0a', 'epair1a']));
    expect(hostIfaces).not.toContain('epair0b'); // moved into the jail

    expect(await ctx.runDeferred()).toEqual([]);
    expect(await run(host, ['jls', 'name'])).toBe('');
    const after = (await run(host, ['ifconfig', '-l'])).split(/\s+/);
    expect(after.filter((i) => /^(bridge|epair)/.test(i))).toEqual([]);
  });

  it('a failure midway still removes what was made', async () => {
    const host = createFreeBsdHost();
    const ctx = context(host);
    // The second jail's name is taken, so `jail -c` fails after the bridge, both epairs and the first jail exist.
    await host.run(['jail', '-c', 'name=cpr-dead00-b', 'persist']);
    await expect(createJailPair(ctx, 'dead00')).rejects.toThrow(/jail cpr-dead00-b already exists/);
    expect(await ctx.runDeferred()).toEqual([]);
    expect(await run(host, ['jls', 'name'])).toBe('cpr-dead00-b'); // not ours: left alone
    const after = (await run(host, ['ifconfig', '-l'])).split(/\s+/);
    expect(after.filter((i) => /^(bridge|epair)/.test(i))).toEqual([]);
  });

  it('preflight: pfctl -s info is the firewall no-op; a kernel without VNET is named as the reason', async () => {
    expect(firewallNoopArgv('freebsd')).toEqual(['pfctl', '-s', 'info']);
    const ok = createFreeBsdHost();
    expect(await preflight({ platform: 'freebsd', quick: true, runner: ok, manifest: hostLimitsManifest })).toEqual([]);
    const noVnet = createFreeBsdHost();
    noVnet.sysctls.set('kern.features.vimage', '0');
    expect(await preflight({ platform: 'freebsd', quick: true, runner: noVnet, manifest: hostLimitsManifest })).toEqual(
      ['the kernel lacks VNET (kern.features.vimage is not 1)'],
    );
  });

  it('preflight on Linux (this host): nft works, so nothing is missing', async () => {
    if (process.getuid?.() !== 0) return;
    expect(
      await preflight({ platform: 'linux', quick: true, runner: new ProcessRunner(), manifest: hostLimitsManifest }),
    ).toEqual([]);
  });
});
