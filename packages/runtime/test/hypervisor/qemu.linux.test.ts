import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessRunner } from '../../src/host/command-runner.ts';
import { QemuHypervisor } from '../../src/hypervisor/qemu/qemu.ts';
import { HypervisorError, type Checkpoint, type GuestImage, type Vm } from '../../src/hypervisor/hypervisor.ts';
import { alive, shmFiles, testGuest } from './helpers.ts';

// One real 128 MiB TCG guest booted once (slow on 2 shared cores), then checkpointed and cloned.
const image = await testGuest(128);
const hv = new QemuHypervisor({ runner: new ProcessRunner(), tbSizeMiB: 4 });
let dir: string;
let runRoot: string;
let base: Checkpoint;
const started: Vm[] = [];

describe.skipIf(!image)('QEMU backend on a real guest', () => {
  const img = image as GuestImage;
  const spec = (name: string, memory: 'template' | 'private' = 'template') => ({
    name,
    image: img,
    memory,
    runDir: join(runRoot, name),
  });

  beforeAll(async () => {
    dir = await mkdtemp('/tmp/cpt-qemu-');
    runRoot = await mkdtemp('/run/cpt-qemu-');
    const tpl = await hv.boot(spec('cpt-tpl'));
    started.push(tpl);
    await tpl.probe({ timeoutMs: 170_000 });
    base = await tpl.checkpoint(join(dir, 'base.state'));
    await tpl.destroy();
  }, 180_000);

  afterAll(async () => {
    for (const vm of started) await vm.destroy();
    if (base) await hv.checkpoints.removeCheckpoint(base);
    await rm(dir, { recursive: true, force: true });
    await rm(runRoot, { recursive: true, force: true });
  });

  it('checkpoints a template VM into a small state file while its RAM stays in a shared memory file', async () => {
    expect(base.memory).toBe('template');
    expect(base.bytes).toBeLessThan(1024 * 1024);
    expect(base.memoryFile).toMatch(/^\/dev\/shm\/coppice-ckpt-base\.state-[0-9a-f]{8}-[0-9a-f]{8}\.mem$/);
    expect(await shmFiles('coppice-vm-cpt-tpl')).toEqual([]); // the template VM's own name is gone (other files' pools run alongside)
    // A copy of the RAM on disk, so the checkpoint outlives a reboot (tmpfs does not): same bytes as the tmpfs file.
    expect(base.memoryImage).toBe(join(dir, 'base.state.mem'));
    expect(base.files).toEqual([join(dir, 'base.state'), join(dir, 'base.state.mem')]);
    const [disk, shm] = await Promise.all([readFile(base.memoryImage!), readFile(base.memoryFile!)]);
    expect(disk.length).toBe(128 * 1024 * 1024);
    expect(disk.equals(shm)).toBe(true);
  });

  it('restores a clone that answers its probe, pauses to no CPU and resumes, and destroys without a trace', async () => {
    const vm = await hv.restore(spec('cpt-c1'), base);
    started.push(vm);
    expect(await vm.probe({ timeoutMs: 20_000 })).toBeGreaterThan(0);
    const stats = await vm.stats();
    expect(stats.state).toBe('running');
    expect(stats.pssBytes).toBeGreaterThan(0);
    await vm.pause();
    expect((await vm.stats()).state).toBe('paused');
    await vm.resume();
    expect(await vm.probe({ timeoutMs: 5000 })).toBeLessThan(5000);
    const record = vm.record();
    await vm.destroy();
    expect(alive(record.pid)).toBe(false);
    await expect(readdir(record.runDir)).rejects.toThrow();
    expect(await hv.adopt(record)).toBeUndefined();
  });

  it('refuses a corrupt checkpoint with a clear error and leaves no process or file behind', async () => {
    const bad: Checkpoint = { ...base, path: join(dir, 'corrupt.state'), files: [join(dir, 'corrupt.state')] };
    await writeFile(bad.path, 'not a migration stream');
    const before = (await hv.listRunning(runRoot)).length;
    await expect(hv.restore(spec('cpt-bad'), bad)).rejects.toThrow(HypervisorError);
    expect((await hv.listRunning(runRoot)).length).toBe(before);
    await expect(readdir(join(runRoot, 'cpt-bad'))).rejects.toThrow();
    await expect(hv.restore(spec('cpt-bad'), { ...base, hypervisorVersion: '1.0' })).rejects.toThrow(
      /written by QEMU 1.0/,
    );
    await expect(hv.restore(spec('cpt-bad'), { ...base, image: 'other' })).rejects.toThrow(/image "other"/);
  });

  it('writes a private checkpoint holding all of RAM that restores without the template', async () => {
    const vm = await hv.restore(spec('cpt-p-src'), base);
    started.push(vm);
    await vm.probe({ timeoutMs: 20_000 });
    const cp = await vm.checkpoint(join(dir, 'private.state'));
    await vm.destroy();
    try {
      expect(cp.memory).toBe('private');
      expect(cp.memoryFile).toBeUndefined();
      expect(cp.bytes).toBeGreaterThan(8 * 1024 * 1024);
      const r = await hv.restore(spec('cpt-p', 'private'), cp);
      started.push(r);
      await r.probe({ timeoutMs: 20_000 });
      await r.destroy();
    } finally {
      await hv.checkpoints.removeCheckpoint(cp);
    }
  }, 90_000);
});
