import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcessRunner } from '@coppice/runtime';
import { ChildProcesses } from '../../src/harness/child-processes.ts';
import { bundleController, ControllerProcess } from '../../src/rigs/density/controller-process.ts';
import { childrenOf, fileBacking, fileResidentBytes, memAvailableBytes, processMemory, processesMemory } from '../../src/rigs/density/kernel-memory.ts';
import type { ControllerArgs } from '../../src/rigs/density/pool-controller.ts';
import { stopReason } from '../../src/rigs/density/limits.ts';
import { tempDir } from '../harness/helpers.ts';

describe('kernel memory accounting', () => {
  it('reads VmRSS, VmHWM and PSS of a live process, and sums them over processes', async () => {
    const m = await processMemory(process.pid);
    expect(m.rssBytes).toBeGreaterThan(10 * 2 ** 20);
    expect(m.hwmBytes).toBeGreaterThanOrEqual(m.rssBytes);
    expect(m.pssBytes).toBeGreaterThan(0);
    expect(m.pssBytes).toBeLessThanOrEqual(m.rssBytes);
    expect(m.pssAnonBytes + m.pssFileBytes + m.pssShmemBytes).toBeLessThanOrEqual(m.pssBytes + 4096 * 3);
    const twice = await processesMemory([process.pid, process.pid]);
    expect(twice.rssBytes).toBeGreaterThanOrEqual(2 * m.rssBytes * 0.9);
    await expect(processMemory(2 ** 22 + 7)).rejects.toThrow(/ENOENT/);
    expect(await memAvailableBytes()).toBeGreaterThan(0);
  });

  it('tells a tmpfs file from a disk file and counts its resident pages with fincore', async () => {
    const runner = new ProcessRunner();
    const shm = join('/dev/shm', `coppice-test-density-${process.pid}`);
    writeFileSync(shm, Buffer.alloc(3 * 2 ** 20, 1));
    try {
      expect(await fileBacking(shm)).toBe('tmpfs');
      expect(await fileResidentBytes(runner, shm)).toBe(3 * 2 ** 20);
    } finally {
      (await import('node:fs')).rmSync(shm, { force: true });
    }
    const disk = join(tempDir('density'), 'file');
    writeFileSync(disk, 'x');
    expect(await fileBacking(disk)).toBe('page-cache');
    await expect(fileResidentBytes(runner, join(tempDir('density'), 'missing'))).rejects.toThrow(/fincore/);
  });

  it('lists the direct children of a process', async () => {
    const kids = new ChildProcesses();
    const child = kids.spawn(['sleep', '30']);
    try {
      expect(await childrenOf(process.pid)).toContain(child.pid);
    } finally {
      await kids.terminateAll(100);
    }
  });
});

describe('the pool controller process', () => {
  // A pool with no template checkpoint: the controller must refuse to hold it, say why and exit (no VM is started).
  const args = (dir: string): ControllerArgs => ({
    template: 'ctltest',
    guestDir: dir,
    imageName: 'guest-256',
    memoryMiB: 256,
    stateDir: join(dir, 'state'),
    runRoot: join(dir, 'run'),
    accel: 'tcg',
    tbSizeMiB: 4,
    refillConcurrency: 1,
    maxEntries: 8,
  });

  it.each(['bundled', 'tsx'] as const)('%s: reports an empty pool as an error and exits', async (loader) => {
    const dir = tempDir('ctl');
    mkdirSync(join(dir, 'run'));
    const bundle = loader === 'bundled' ? await bundleController(dir) : undefined;
    const kids = new ChildProcesses();
    try {
      await expect(ControllerProcess.start(kids, loader, args(dir), bundle)).rejects.toThrow(/pool controller: pool ctltest has no template checkpoint/);
    } finally {
      expect(await kids.terminateAll(100)).toEqual([]);
    }
  }, 30_000);
});

describe('how far N grows', () => {
  const room = { availableMiB: 20_000, reserveMiB: 6_000, elapsedS: 100, budgetS: 540 };

  it('runs a first level whose first guess fits, and stops one that would eat into the reserve', () => {
    expect(stopReason(8, undefined, 320, room)).toBeUndefined();
    expect(stopReason(50, undefined, 320, room)).toMatch(/^stopped before n=50: about 16000 MiB needed, 20000 MiB available, 6000 MiB kept in reserve$/);
  });

  it('predicts from the last level with a margin, and never from a negative figure', () => {
    expect(stopReason(400, { perVmMiB: 25, secondsPerVm: 0.3 }, 64, room)).toBeUndefined(); // 10 500 MiB
    expect(stopReason(1000, { perVmMiB: 25, secondsPerVm: 0.3 }, 64, room)).toMatch(/about 26250 MiB needed/);
    // A host-delta made negative by other work on the host must not make a level look free.
    expect(stopReason(1000, { perVmMiB: -30, secondsPerVm: 0.01 }, 64, room)).toMatch(/about 64000 MiB needed/);
    expect(stopReason(100, { perVmMiB: 0, secondsPerVm: 0.01 }, 64, room)).toBeUndefined(); // 6 400 MiB
  });

  it('stops a level whose restores would run past the time budget', () => {
    expect(stopReason(400, { perVmMiB: 25, secondsPerVm: 0.5 }, 64, { ...room, elapsedS: 364 })).toBe(
      'stopped before n=400: about 200 s needed to restore them, 364 s of the 540 s budget spent',
    );
    expect(stopReason(400, { perVmMiB: 25, secondsPerVm: 0.5 }, 64, { ...room, elapsedS: 250 })).toBeUndefined();
  });
});
