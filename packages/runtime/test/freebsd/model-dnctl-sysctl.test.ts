import { describe, expect, it } from 'vitest';
import { parsePipeShow } from '../../src/net/rate-limit/dummynet.ts';
import { createFreeBsdHost } from '../freebsd-host/index.ts';

/** The model's dnctl(8) and sysctl(8) writes refuse what the real tools refuse (sbin/ipfw/dummynet.c, sysctl(8)). */
describe('host model: dnctl and sysctl writes', () => {
  it('dnctl configures, shows and deletes pipes as dummynet.c prints them', async () => {
    const host = createFreeBsdHost({ dummynet: true });
    expect((await host.run(['dnctl', 'pipe', '10005', 'config', 'bw', '100Mbit/s'])).code).toBe(0);
    expect((await host.run(['dnctl', 'pipe', '7', 'config', 'bw', '512Kbit/s', 'delay', '20'])).code).toBe(0);
    const show = (await host.run(['dnctl', 'pipe', 'show'])).stdout;
    expect(show).toContain('00007: 512.000 Kbit/s   20 ms burst 0\n');
    expect(show).toContain('10005: 100.000 Mbit/s    0 ms burst 0\n');
    expect(parsePipeShow(show)).toEqual([
      { pipe: 7, mbit: 0.512 },
      { pipe: 10005, mbit: 100 },
    ]);
    expect((await host.run(['dnctl', 'pipe', 'delete', '7'])).code).toBe(0);
    expect(parsePipeShow((await host.run(['dnctl', 'pipe', 'show'])).stdout)).toEqual([{ pipe: 10005, mbit: 100 }]);
  });

  it('dnctl refuses bad numbers, bandwidths and words, and everything without the module', async () => {
    const host = createFreeBsdHost({ dummynet: true });
    const fails = async (argv: string[], message: RegExp) => {
      const r = await host.run(argv);
      expect(r.code, argv.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
    };
    await fails(['dnctl', 'pipe', '0', 'config', 'bw', '1Mbit/s'], /need a pipe\/flowset\/sched number/);
    await fails(['dnctl', 'pipe', '65536', 'config', 'bw', '1Mbit/s'], /Invalid argument/);
    await fails(['dnctl', 'pipe', '5', 'config', 'bw', '3000Mbit/s'], /bandwidth too large/);
    await fails(['dnctl', 'pipe', '5', 'config', 'bw', '10Mbit/s', 'rate', '5'], /unrecognised option/);
    await fails(['dnctl', 'pipe', 'delete', '5'], /IP_DUMMYNET_DEL/);
    const bare = createFreeBsdHost();
    const r = await bare.run(['dnctl', 'pipe', '5', 'config', 'bw', '10Mbit/s']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Protocol not available/);
  });

  it('sysctl sets writable integer oids, printing old -> new, and refuses the rest', async () => {
    const host = createFreeBsdHost();
    const ok = await host.run(['sysctl', 'net.inet.ip.forwarding=1']);
    expect(ok.stdout).toBe('net.inet.ip.forwarding: 0 -> 1\n');
    expect(host.sysctls.get('net.inet.ip.forwarding')).toBe('1');
    expect((await host.run(['sysctl', 'kern.osrelease=16.0'])).stderr).toMatch(/oid 'kern.osrelease' is read only/);
    expect((await host.run(['sysctl', 'net.inet.ip.forwarding=yes'])).stderr).toMatch(/invalid integer 'yes'/);
    expect((await host.run(['sysctl', 'net.inet.ip.nonesuch=1'])).stderr).toMatch(/unknown oid/);
    expect(host.sysctls.get('net.inet.ip.forwarding')).toBe('1');
  });
});
