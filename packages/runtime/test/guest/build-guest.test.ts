import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildGuestScript } from '../../src/hypervisor/qemu/guest-image.ts';

const run = promisify(execFile);
const canBuild = await stat('/bin/busybox').then(
  () => true,
  () => false,
);

describe.skipIf(!canBuild)('build-guest.sh', () => {
  it('builds outside the repo, is idempotent, and ships the virtio-net modules in load order', async () => {
    const first = (await run(buildGuestScript, [], { timeout: 600_000 })).stdout.trim();
    expect(first).toMatch(/^\/var\/cache\/coppice\/guest\/linux-image-[^/]+-[0-9a-f]{12}$/);
    const built = await stat(join(first, 'build.ok'));
    const again = (await run(buildGuestScript, [], { timeout: 60_000 })).stdout.trim();
    expect(again).toBe(first);
    expect((await stat(join(first, 'build.ok'))).mtimeMs).toBe(built.mtimeMs); // not rebuilt
    expect((await stat(join(first, 'vmlinuz'))).size).toBeGreaterThan(1_000_000);
    const manifest = await readFile(join(first, 'build.ok'), 'utf8');
    expect(manifest).toContain('modules=virtio_ring virtio virtio_mmio failover net_failover virtio_net');
    // The initramfs (newc cpio) holds the init and the modules.
    const cpio = await readFile(join(first, 'initrd.cpio'), 'latin1');
    for (const m of ['init', 'lib/modules/virtio_mmio.ko', 'lib/modules/virtio_net.ko', 'bin/busybox'])
      expect(cpio).toContain(m);
  }, 600_000);

  it('has an init that answers the serial probe and takes its address from the kernel command line', async () => {
    const init = await readFile(new URL('../../guest/init', import.meta.url), 'utf8');
    expect(init).toMatch(/ping\) echo "ready \$token"/);
    expect(init).toContain('coppice.ip=');
    expect(init.indexOf('virtio_ring')).toBeLessThan(init.indexOf('virtio_net'));
  });
});
