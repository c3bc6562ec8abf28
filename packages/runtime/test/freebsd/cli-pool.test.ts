/** `coppice pool` picks its backend by platform: bhyve + pf on FreeBSD (here the host model), QEMU + nftables on Linux. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_BHYVE_BOOTROM, poolBackend } from '../../src/cli/pool-backend.ts';
import { main } from '../../src/cli/pool.ts';
import { vmmState } from '../freebsd-host/bhyve.ts';
import { ModelBhyveSystem } from '../freebsd-host/bhyve-system.ts';
import { writeFile } from '../freebsd-host/fs.ts';
import { createFreeBsdHost } from '../freebsd-host/index.ts';
import { liveProcesses } from '../freebsd-host/processes.ts';

const GUEST = '/vm/guest';

describe('pool backend by platform', () => {
  it('FreeBSD: bhyve with the guest disk and UEFI firmware, cubenet on pf', async () => {
    const host = createFreeBsdHost({ dummynet: true });
    const dir = await mkdtemp(join(tmpdir(), 'cpt-clipool-net-'));
    const b = poolBackend({
      runner: host,
      platform: 'freebsd',
      bhyveSystem: new ModelBhyveSystem(host),
      env: { COPPICE_GUEST_DIR: GUEST },
      netConfig: { prefix: 'cpq', stateDir: dir, lockDir: dir },
    });
    const image = b.image(await b.locateGuest(), 'debian-256', 256, 1);
    expect(image).toEqual({
      name: 'debian-256',
      disk: `${GUEST}/disk.img`,
      bootrom: DEFAULT_BHYVE_BOOTROM,
      memoryMiB: 256,
      vcpus: 1,
    });
    expect(b.hypervisor(image).kind).toBe('bhyve');
    const net = await b.openNetwork();
    try {
      await net.init();
      // The FreeBSD opener's own tools ran against the model: pf's anchors, an if_bridge bridge.
      expect(host.calls.some((c) => c[0] === 'pfctl')).toBe(true);
      expect(host.calls.some((c) => c[0] === 'nft' || c[0] === 'ip')).toBe(false);
      await net.teardown();
    } finally {
      await net.close();
      await rm(dir, { recursive: true, force: true });
    }
    // There is no FreeBSD guest build: without COPPICE_GUEST_DIR the operator is told what to set.
    await expect(poolBackend({ runner: host, platform: 'freebsd', env: {} }).locateGuest()).rejects.toThrow(
      /COPPICE_GUEST_DIR/,
    );
  });

  it('Linux: QEMU with the direct-boot kernel and initramfs', () => {
    const host = createFreeBsdHost();
    const b = poolBackend({ runner: host, platform: 'linux', env: {} });
    const image = b.image('/g', 'debian-256', 256, 1);
    expect(image).toMatchObject({ kernel: '/g/vmlinuz', initrd: '/g/initrd.cpio' });
    expect(b.hypervisor(image).kind).toBe('qemu');
  });
});

describe('coppice pool on FreeBSD (host model)', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'cpt-clipool-'));
    vi.stubEnv('COPPICE_POOL_STATE_DIR', stateDir);
    vi.stubEnv('COPPICE_RUN_DIR', '/var/run/coppice/vm');
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('init boots bhyve (not QEMU), warms a template checkpoint, and drain leaves nothing running', async () => {
    const host = createFreeBsdHost();
    writeFile(host, DEFAULT_BHYVE_BOOTROM, 'rom');
    writeFile(host, `${GUEST}/disk.img`, 'disk');
    writeFile(host, `${stateDir}/cli-tpl/`, '');
    const cliHost = {
      runner: host,
      platform: 'freebsd' as const,
      bhyveSystem: new ModelBhyveSystem(host),
      env: { COPPICE_GUEST_DIR: GUEST },
    };
    const quiet = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const errors: string[] = [];
    const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
    try {
      const code = await main(
        ['init', '--template', 'cli-tpl', '--mode', 'prewarm', '--hot', '1', '--durable', '0'],
        cliHost,
      );
      expect(code, errors.join('\n')).toBe(0);
      const bhyveRuns = host.calls.filter((c) => c[0] === 'bhyve');
      expect(bhyveRuns.length).toBeGreaterThan(0);
      expect(host.calls.some((c) => c[0]?.includes('qemu'))).toBe(false);
      expect(bhyveRuns[0]).toContain(`2,virtio-blk,${GUEST}/disk.img`);
      expect(await main(['drain', 'cli-tpl'], cliHost), errors.join('\n')).toBe(0);
      expect(liveProcesses(host)).toEqual([]);
      expect(vmmState(host).vms.size).toBe(0);
    } finally {
      quiet.mockRestore();
      err.mockRestore();
    }
  });
});
