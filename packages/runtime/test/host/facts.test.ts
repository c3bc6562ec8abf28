import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ProcessRunner } from '../../src/host/command-runner.ts';
import { gatherHostFacts } from '../../src/host/facts.ts';
import { parseKernelOptions, parseKldstat, parsePfLimits, parseSysctl } from '../../src/host/freebsd-facts.ts';
import { parseCpuinfo, parseMeminfo, parseOsRelease } from '../../src/host/linux-facts.ts';
import { detectPlatform, platformOf } from '../../src/host/platform.ts';
import { toolVersion } from '../../src/host/tool-versions.ts';
import { vmmState } from '../freebsd-host/bhyve.ts';
import { createFreeBsdHost, type FreeBsdHost, ToolFailure } from '../freebsd-host/index.ts';

const cpuinfo = (['0:0', '0:1', '0:0', '0:1'] as const)
  .map((pc, i) => {
    const [phys, core] = pc.split(':');
    return [
      `processor\t: ${i}`,
      'vendor_id\t: GenuineIntel',
      'model name\t: Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz',
      `physical id\t: ${phys}`,
      `core id\t\t: ${core}`,
      'flags\t\t: fpu vme hypervisor lm',
    ].join('\n');
  })
  .join('\n\n');

describe('Linux parsers', () => {
  it('cpuinfo: threads are processors, cores are distinct (physical id, core id) pairs', () => {
    const info = parseCpuinfo(`${cpuinfo}\n`);
    expect(info).toMatchObject({
      model: 'Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz',
      vendor: 'GenuineIntel',
      cores: 2,
      threads: 4,
    });
    expect(info.flags.has('hypervisor')).toBe(true);
    expect(() => parseCpuinfo('')).toThrow('/proc/cpuinfo lists no processor');
  });

  it('meminfo: kB fields in bytes, unitless counters as they are', () => {
    expect(parseMeminfo('MemTotal:       24683620 kB\nMemAvailable:   100 kB\nHugePages_Total:       0\n')).toEqual({
      MemTotal: 24683620 * 1024,
      MemAvailable: 102400,
      HugePages_Total: 0,
    });
  });

  it('os-release: PRETTY_NAME, unquoted', () => {
    expect(parseOsRelease('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')).toBe(
      'Debian GNU/Linux 12 (bookworm)',
    );
    expect(parseOsRelease('NAME=Alpine\nVERSION=3.20\n')).toBe('Alpine 3.20');
  });
});

describe('FreeBSD parsers', () => {
  it('sysctl output, including multi-line values', () => {
    expect(parseSysctl('hw.ncpu: 16\nkern.conftxt: options\tA\noptions\tB\nhw.model: AMD Ryzen\n')).toEqual({
      'hw.ncpu': '16',
      'kern.conftxt': 'options\tA\noptions\tB',
      'hw.model': 'AMD Ryzen',
    });
  });

  it('kernel options, kldstat modules, pf limits', () => {
    expect(parseKernelOptions('ident\tGENERIC\noptions\tVIMAGE\noptions\tBHYVE_SNAPSHOT\ndevice\tpf\n')).toEqual([
      'BHYVE_SNAPSHOT',
      'VIMAGE',
    ]);
    expect(
      parseKldstat(
        'Id Refs Address                Size Name\n 1   23 0xffffffff80200000  1f3c6c0 kernel\n 2    1 0xffffffff82a00000   3220f0 vmm.ko\n',
      ),
    ).toEqual(['kernel', 'vmm.ko']);
    expect(parsePfLimits('states        hard limit   100000\nanchors       hard limit      512\n')).toEqual({
      states: '100000',
      anchors: '512',
    });
  });
});

/** The shared FreeBSD model, plus the identity sysctls every real kernel has and the model does not set. */
function freebsdHost(): FreeBsdHost {
  const host = createFreeBsdHost({ anchorLimit: 4096 });
  host.sysctls.set('kern.ident', 'GENERIC-SNAP');
  host.sysctls.set('kern.smp.cores', '8');
  host.sysctls.set('kern.vm_guest', 'none');
  return host;
}

describe('gatherHostFacts on FreeBSD (host model)', () => {
  it('reads identity, kernel options, modules, pf limits and the bridge pfil sysctls', async () => {
    const facts = await gatherHostFacts(freebsdHost(), { platform: 'freebsd', tools: ['bhyve', 'sockperf'] });
    expect(facts).toMatchObject({
      platform: 'freebsd',
      os: 'FreeBSD 15.0-RELEASE-p1',
      kernel: '15.0-RELEASE-p1 GENERIC-SNAP',
      cpu: { model: 'AMD Ryzen 9 5900HX with Radeon Graphics', cores: 8, threads: 16 },
      memoryBytes: 32 * 1024 ** 3,
      backend: { hypervisor: 'bhyve', firewall: 'pf' },
    });
    expect(facts.facts).toMatchObject({
      'kern.conftxt.options': 'BHYVE_SNAPSHOT VIMAGE',
      kldstat: 'kernel vmm.ko pf.ko if_bridge.ko if_tuntap.ko if_epair.ko nmdm.ko',
      'pf.limit.anchors': '4096',
      'pf.limit.states': '100000',
      'net.link.bridge.pfil_member': '1',
      'net.link.bridge.pfil_bridge': '0',
      virtualization: 'vm: none (kern.vm_guest)',
    });
    // A stock bhyve (the model's default): template restores copy guest memory, and the facts say so.
    expect(facts.facts['bhyve.restore_memory']).toMatch(/^copy: stock bhyve/);
    expect(facts.tools).toEqual({
      node: process.version,
      bhyve: 'base system 15.0-RELEASE-p1',
      sockperf: 'not installed',
    });
  });

  it('records vnode restore when the host bhyve carries the patch', async () => {
    const host = freebsdHost();
    vmmState(host).vnodePatch = true;
    const facts = await gatherHostFacts(host, { platform: 'freebsd' });
    expect(facts.facts['bhyve.restore_memory']).toMatch(/^vnode: patched bhyve/);
  });

  it('records pf limits as unavailable when pfctl fails (pf not loaded), instead of failing', async () => {
    const host = freebsdHost();
    host.register('pfctl', () => {
      throw new ToolFailure('/dev/pf: No such file or directory');
    });
    const facts = await gatherHostFacts(host, { platform: 'freebsd' });
    expect(facts.facts['pf.limits']).toBe('unavailable: pfctl: /dev/pf: No such file or directory');
  });

  it('fails, naming the sysctl, when an identity sysctl is missing', async () => {
    const host = freebsdHost();
    host.sysctls.delete('hw.physmem');
    await expect(gatherHostFacts(host, { platform: 'freebsd' })).rejects.toThrow('sysctl hw.physmem is missing');
  });
});

describe('on this machine', () => {
  it('gathers real Linux facts through the process runner', async () => {
    const facts = await gatherHostFacts(new ProcessRunner(), {
      platform: 'linux',
      tools: ['nft', 'coppice-no-such-tool'],
    });
    expect(facts.cpu.threads).toBe(cpus().length);
    expect(facts.memoryBytes).toBeGreaterThan(0);
    expect(facts.backend.firewall).toBe('nftables');
    expect(['qemu-tcg', 'qemu-kvm']).toContain(facts.backend.hypervisor);
    expect(facts.facts.virtualization).toMatch(/^vm: /);
    expect(facts.tools['coppice-no-such-tool']).toBe('not installed');
    expect(facts.tools.nft).toMatch(/^nftables v/);
  });

  it('detects the platform and rejects unsupported ones by name', () => {
    expect(detectPlatform()).toBe('linux');
    expect(platformOf('darwin')).toBeUndefined();
    expect(() => detectPlatform('win32')).toThrow('unsupported platform "win32"');
  });

  it('toolVersion: the first line of --version', async () => {
    expect(await toolVersion(new ProcessRunner(), 'ip')).toMatch(/^ip utility, iproute2/);
  });
});
