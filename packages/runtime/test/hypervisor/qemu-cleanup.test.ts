/**
 * A VM record read back from a tampered state file cannot make the QEMU backend delete a file outside its own
 * tmpfs folder: the record's owned files (memory files) are removed only from there.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessRunner } from '../../src/host/command-runner.ts';
import type { VmRecord } from '../../src/hypervisor/hypervisor.ts';
import { QemuHypervisor } from '../../src/hypervisor/qemu/qemu.ts';

describe('QemuHypervisor.cleanup of a read-back record', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  async function dir(name: string): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), `cpt-qclean-${name}-`));
    dirs.push(d);
    return d;
  }

  function record(runDir: string, ownedFiles: string[]): VmRecord {
    return {
      hypervisor: 'qemu',
      name: 'cp-t-00000001',
      pid: spawnSync('true').pid!, // a process that is gone
      pidStartTime: '1',
      runDir,
      spec: { name: 'cp-t-00000001', image: { name: 'g', memoryMiB: 256, vcpus: 1 }, memory: 'template', runDir },
      detail: { ownedFiles: ownedFiles.join('\n') },
    };
  }

  it('removes owned files inside its tmpfs folder, and refuses one outside it, which survives', async () => {
    const shm = await dir('shm');
    const outside = await dir('outside');
    const runDir = join(await dir('run'), 'cp-t-00000001');
    const hv = new QemuHypervisor({ runner: new ProcessRunner(), shmDir: shm });
    await writeFile(join(shm, 'coppice-vm-cp-t-00000001.mem'), 'ram');
    await hv.cleanup(record(runDir, [join(shm, 'coppice-vm-cp-t-00000001.mem')]));
    expect(await readdir(shm)).toEqual([]);

    await writeFile(join(outside, 'precious'), 'keep me');
    for (const owned of [join(outside, 'precious'), join(shm, '..', outside.split('/').pop()!, 'precious')]) {
      await expect(hv.cleanup(record(runDir, [owned]))).rejects.toThrow(/not inside/);
      expect(await readdir(outside)).toEqual(['precious']);
    }
  });
});
