import { execFile } from 'node:child_process';
import { access, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildTemplateScript } from '../../src/hypervisor/qemu/guest-image.ts';

const run = promisify(execFile);
const canBuild = await Promise.all(
  ['/bin/busybox', '/usr/bin/mmdebstrap', '/usr/sbin/debugfs'].map((f) => access(f)),
).then(
  () => true,
  () => false,
);

/** `debugfs -R CMD image` output (debugfs reports a missing path on stderr and still exits 0). */
async function debugfs(image: string, cmd: string): Promise<string> {
  const { stdout, stderr } = await run('debugfs', ['-R', cmd, image]);
  return stdout + stderr;
}

describe('build-template.sh arguments', () => {
  it('refuses a template it does not know, naming it', async () => {
    const err = await run(buildTemplateScript, ['nope'], { timeout: 10_000 }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toContain("unknown template 'nope'");
  });
});

describe.skipIf(!canBuild)('build-template.sh code-interpreter-v1', () => {
  it('builds once into the cache, with a read-only root image holding the guest pieces and 1 GiB free', async () => {
    const dir = (await run(buildTemplateScript, ['code-interpreter-v1'], { timeout: 3_000_000 })).stdout.trim();
    expect(dir).toMatch(/^\/var\/cache\/coppice\/templates\/code-interpreter-v1-[0-9a-f]{12}$/);
    const built = await stat(join(dir, 'build.ok'));
    expect((await run(buildTemplateScript, ['code-interpreter-v1'], { timeout: 120_000 })).stdout.trim()).toBe(dir);
    expect((await stat(join(dir, 'build.ok'))).mtimeMs).toBe(built.mtimeMs); // not rebuilt

    const image = join(dir, 'rootfs.ext4');
    const st = await stat(image);
    expect(st.mode & 0o777).toBe(0o444);
    expect(st.blocks * 512).toBeLessThan(st.size); // sparse: the free space costs nothing on the host
    const header = (await run('dumpe2fs', ['-h', image])).stdout;
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(header)?.[1]);
    expect(field('Free blocks') * field('Block size')).toBeGreaterThanOrEqual(1024 ** 3);
    expect(field('Reserved block count')).toBe(0);

    for (const path of [
      '/usr/local/sbin/coppice-init',
      '/usr/local/bin/coppice-clone-helper',
      '/opt/coppice/code-interpreter/server.py',
      '/usr/bin/tini',
      '/usr/bin/node',
    ]) {
      expect(await debugfs(image, `stat ${path}`), path).toMatch(/Inode: \d+/);
    }
    expect(await debugfs(image, 'cat /etc/passwd')).toMatch(/^user:x:1000:1000::\/home\/user:\/bin\/bash$/m);
    expect(await debugfs(image, 'stat /usr/lib/python3/dist-packages/pandas/__init__.py')).toMatch(/Inode: \d+/);

    const cpio = await readFile(join(dir, 'initrd.cpio'), 'latin1');
    for (const m of ['virtio_blk', 'ext4', 'jbd2', 'virtio_net', 'virtio-rng'])
      expect(cpio).toContain(`lib/modules/${m}.ko`);
    const manifest = await readFile(join(dir, 'build.ok'), 'utf8');
    expect(manifest).toMatch(/^modules=virtio_ring virtio virtio_mmio virtio_blk .* ext4 /m);
  }, 3_100_000);
});
