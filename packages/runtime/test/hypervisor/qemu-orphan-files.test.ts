import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QemuCheckpointStore } from '../../src/hypervisor/qemu/checkpoints.ts';
import { poolOwnership } from '../../src/pool/reconcile-plan.ts';

// Two pools of one template name under different state and run folders (two hosts, or a test beside an operator)
// share the machine's tmpfs: neither may name its RAM files like the other's, nor take the other's for orphans.
let root: string;
let shm: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cpt-orphans-'));
  shm = join(root, 'shm');
  await mkdir(shm);
});
afterEach(() => rm(root, { recursive: true, force: true }));

function pool(name: string) {
  const checkpointDir = join(root, name, 'state', 'base');
  const runDir = join(root, name, 'run', 'base');
  return { checkpointDir, runDir, scope: { checkpointDir, runDir, ...poolOwnership('base') } };
}

describe('tmpfs RAM files of pools that share a template name', () => {
  it('get different names per owning folder, and orphan removal keeps the other pool’s files', async () => {
    const store = new QemuCheckpointStore(shm, async () => '7.2.22 tcg cpu=max');
    const [a, b] = [pool('a'), pool('b')];
    const vmA = store.vmMemoryPath('cp-base-tpl', join(a.runDir, 'base-tpl'));
    const vmB = store.vmMemoryPath('cp-base-tpl', join(b.runDir, 'base-tpl'));
    expect(vmA).not.toBe(vmB);
    const ckptA = store.checkpointMemoryPath(join(a.checkpointDir, 'base-base.state'));
    const ckptB = store.checkpointMemoryPath(join(b.checkpointDir, 'base-base.state'));
    for (const f of [vmA, vmB, ckptA, ckptB]) await writeFile(f, 'ram');
    await mkdir(a.checkpointDir, { recursive: true });

    const removed = await store.removeOrphanFiles(a.scope, new Set());
    expect(removed.sort()).toEqual([ckptA, vmA].sort());
    expect((await readdir(shm)).sort()).toEqual([ckptB, vmB].map((f) => f.slice(shm.length + 1)).sort());
  });

  it('counts a checkpoint written by another QEMU, accelerator or CPU model as not intact', async () => {
    const store = new QemuCheckpointStore(shm, async () => '7.2.22 tcg cpu=max');
    const path = join(root, 'base.state');
    await writeFile(path, 'device state');
    const cp = { hypervisor: 'qemu' as const, image: 'img', memory: 'private' as const, path, files: [path] };
    const at = (hypervisorVersion: string) => ({ ...cp, hypervisorVersion, bytes: 12, createdAt: '' });
    expect(await store.checkpointIntact(at('7.2.22 tcg cpu=max'))).toBe(true);
    expect(await store.checkpointIntact(at('7.2.22'))).toBe(false);
    expect(await store.checkpointIntact(at('7.2.22 kvm cpu=host'))).toBe(false);
    await rm(path);
    expect(await store.checkpointIntact(at('7.2.22 tcg cpu=max'))).toBe(false);
  });
});
