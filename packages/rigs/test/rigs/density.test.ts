import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcessRunner } from '@coppice/runtime';
import { ChildProcesses } from '../../src/harness/child-processes.ts';
import { bundleController, ControllerProcess } from '../../src/rigs/density/controller-process.ts';
import {
  childrenOf,
  fileBacking,
  fileResidentBytes,
  memAvailableBytes,
  processMemory,
  processesMemory,
} from '../../src/rigs/density/kernel-memory.ts';
import type { ControllerArgs } from '../../src/rigs/density/pool-controller.ts';
import { stopReason } from '../../src/rigs/density/limits.ts';
import { classifyQemuMemory, parseSmaps, type GuestRam } from '../../src/rigs/density/qemu-memory.ts';
import { hostDeltaAgreesWithPss } from '../../src/rigs/density/agreement.ts';
import { AGREEMENT_TOLERANCE, densityManifest } from '../../src/rigs/density/manifest.ts';
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

  it.each(['bundled', 'tsx'] as const)(
    '%s: reports an empty pool as an error and exits',
    async (loader) => {
      const dir = tempDir('ctl');
      mkdirSync(join(dir, 'run'));
      const bundle = loader === 'bundled' ? await bundleController(dir) : undefined;
      const kids = new ChildProcesses();
      try {
        await expect(ControllerProcess.start(kids, loader, args(dir), bundle)).rejects.toThrow(
          /pool controller: pool ctltest has no template checkpoint/,
        );
      } finally {
        expect(await kids.terminateAll(100)).toEqual([]);
      }
    },
    30_000,
  );
});

describe('how far N grows', () => {
  const room = { availableMiB: 20_000, reserveMiB: 6_000, elapsedS: 100, budgetS: 540 };
  const cost = (perVmMiB: number, secondsPerVm: number, roundOverheadS = 0) => ({
    perVmMiB,
    secondsPerVm,
    roundOverheadS,
  });

  it('runs a first level whose first guess fits, and stops one that would eat into the reserve', () => {
    expect(stopReason(8, 5, undefined, 320, room)).toBeUndefined();
    expect(stopReason(50, 5, undefined, 320, room)).toMatch(
      /^stopped before n=50: about 16000 MiB needed, 20000 MiB available, 6000 MiB kept in reserve$/,
    );
  });

  it('predicts from the last level with a margin, and never from a negative figure', () => {
    expect(stopReason(400, 1, cost(25, 0.3), 64, room)).toBeUndefined(); // 10 500 MiB
    expect(stopReason(1000, 1, cost(25, 0.3), 64, room)).toMatch(/about 26250 MiB needed/);
    // A host-delta made negative by other work on the host must not make a level look free.
    expect(stopReason(1000, 1, cost(-30, 0.01), 64, room)).toMatch(/about 64000 MiB needed/);
    expect(stopReason(100, 1, cost(0, 0.01), 64, room)).toBeUndefined(); // 6 400 MiB
  });

  it('stops a level whose rounds would run past the time budget, counting every round and its overhead', () => {
    expect(stopReason(400, 1, cost(25, 0.5), 64, { ...room, elapsedS: 364 })).toBe(
      'stopped before n=400: about 200 s needed for its 1 rounds, 364 s of the 540 s budget spent',
    );
    expect(stopReason(400, 1, cost(25, 0.5), 64, { ...room, elapsedS: 250 })).toBeUndefined();
    // The same level in 2 rounds of 200 s plus 10 s of settling each: 420 s (504 s with the margin) do not fit in 440.
    expect(stopReason(400, 2, cost(25, 0.5, 10), 64, { ...room, elapsedS: 100 })).toBe(
      'stopped before n=400: about 420 s needed for its 2 rounds, 100 s of the 540 s budget spent',
    );
    expect(stopReason(50, 5, cost(25, 0.5, 10), 64, { ...room, elapsedS: 100 })).toBeUndefined(); // 5 × 35 s
  });
});

/** One /proc/PID/smaps entry, as the kernel prints it (sizes in kB). */
function mapping(
  header: string,
  kb: { size: number; pss: number; anonymous?: number },
  flags = 'rd wr mr mw me ac',
): string {
  return [
    header,
    `Size:             ${kb.size} kB`,
    'KernelPageSize:        4 kB',
    `Rss:              ${kb.pss} kB`,
    `Pss:              ${kb.pss} kB`,
    'Pss_Dirty:             0 kB',
    `Anonymous:        ${kb.anonymous ?? 0} kB`,
    'THPeligible:           0',
    'ProtectionKey:         0',
    `VmFlags: ${flags}`,
  ].join('\n');
}

const TEMPLATE_INODE = 4242;
const GUEST_KB = 256 * 1024;
// A template clone under TCG: its private mapping of the template file, TCG's buffer and guard page, QEMU's heap, an
// arena, a thread stack, the binary, a library and the vdso.
const cloneSmaps = [
  mapping('55eb71b1a000-55eb720b1000 r-xp 00407000 fe:00 2170899                    /usr/bin/qemu-system-x86_64', {
    size: 5724,
    pss: 3000,
  }),
  mapping('55eba79a5000-55eba8361000 rw-p 00000000 00:00 0                          [heap]', {
    size: 9968,
    pss: 3836,
    anonymous: 3836,
  }),
  mapping(
    '7f8327fff000-7f8337fff000 rw-p 00000000 00:1b 4242                       /dev/shm/coppice-ckpt-base.state-0a1b2c3d.mem',
    { size: GUEST_KB, pss: 9000, anonymous: 6000 },
    'rd wr mr mw me ac dc mg',
  ),
  mapping(
    '7f8330a00000-7f8330dff000 rwxp 00000000 00:00 0 ',
    { size: 4092, pss: 2048, anonymous: 2048 },
    'rd wr ex mr mw me ac hg',
  ),
  mapping('7f8330dff000-7f8330e00000 ---p 00000000 00:00 0 ', { size: 4, pss: 0 }),
  mapping('7f8331000000-7f8331800000 rw-p 00000000 00:00 0 ', { size: 8192, pss: 100, anonymous: 100 }),
  mapping('7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0                          [stack]', {
    size: 132,
    pss: 40,
    anonymous: 40,
  }),
  mapping(
    '7f83323be000-7f8332514000 r-xp 00026000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6',
    { size: 1368, pss: 200 },
  ),
  mapping('7ffd1c1f0000-7ffd1c1f2000 r-xp 00000000 00:00 0                          [vdso]', { size: 8, pss: 1 }),
].join('\n');

describe("a QEMU process's memory by mapping", () => {
  const templateRam: GuestRam = { kind: 'template-file', inode: TEMPLATE_INODE, bytes: GUEST_KB * 1024 };
  const KiB = 1024;

  it('splits a template clone into guest pages dirtied, template share, TCG cache, heap and other, adding up to its PSS', () => {
    const m = classifyQemuMemory(parseSmaps(cloneSmaps, 'fixture'), templateRam, 900 * KiB, 4 * 2 ** 20, 'fixture');
    expect(m).toEqual({
      pssBytes: (3000 + 3836 + 9000 + 2048 + 100 + 40 + 200 + 1) * KiB,
      guestDirtiedBytes: 6000 * KiB,
      templateShareBytes: 3000 * KiB,
      tcgCacheBytes: 2048 * KiB,
      heapBytes: (3836 + 100 + 40) * KiB,
      otherBytes: (3000 + 200 + 1) * KiB,
      pageTablesBytes: 900 * KiB,
      tcgMappedBytes: 4092 * KiB,
    });
  });

  it('finds private guest RAM as the one anonymous not-copied-on-fork mapping of the guest size', () => {
    const naive = [
      mapping(
        '7fe81fa00000-7fe82fa00000 rw-p 00000000 00:00 0 ',
        { size: GUEST_KB, pss: GUEST_KB, anonymous: GUEST_KB },
        'rd wr mr mw me dc ac hg mg',
      ),
      mapping('7fe82fa00000-7fe83fa00000 rw-p 00000000 00:00 0 ', { size: GUEST_KB, pss: 10, anonymous: 10 }),
    ].join('\n');
    const m = classifyQemuMemory(
      parseSmaps(naive, 'fixture'),
      { kind: 'anonymous', bytes: GUEST_KB * KiB },
      0,
      undefined,
      'fixture',
    );
    expect(m.guestDirtiedBytes).toBe(GUEST_KB * KiB);
    expect(m.templateShareBytes).toBe(0);
    expect(m.heapBytes).toBe(10 * KiB); // the same size without "dc" is not guest RAM
  });

  it('refuses a process whose guest RAM or translation cache it cannot identify, naming what it looked for', () => {
    const mappings = parseSmaps(cloneSmaps, 'fixture');
    expect(() => classifyQemuMemory(mappings, { ...templateRam, inode: 7 }, 0, undefined, '/proc/1/smaps')).toThrow(
      '/proc/1/smaps: expected one private mapping of the template file (inode 7) of 268435456 bytes as guest RAM, found 0',
    );
    expect(() => classifyQemuMemory(mappings, { kind: 'anonymous', bytes: GUEST_KB * KiB }, 0, undefined, 'x')).toThrow(
      /anonymous not-copied-on-fork \("dc"\) mapping .* found 0/,
    );
    expect(() => classifyQemuMemory(mappings, templateRam, 0, 32 * 2 ** 20, 'x')).toThrow(
      "x: the executable anonymous mappings (TCG's translation cache) add up to 4190208 bytes, tb-size is 33554432",
    );
    expect(() =>
      classifyQemuMemory(
        mappings.filter((m) => m.perms !== 'rwxp'),
        templateRam,
        0,
        4 * 2 ** 20,
        'x',
      ),
    ).toThrow(/add up to 0 bytes/);
  });

  it('rejects text that is not smaps', () => {
    expect(() => parseSmaps('Size: 4 kB\n', 'f')).toThrow('f: expected a mapping header, got "Size: 4 kB"');
    expect(() => parseSmaps('', 'f')).toThrow('f: no mappings');
    expect(() => parseSmaps('7f00-7f01 rw-p 00000000 00:00 0 \nSize: 4 kB\nAnonymous: 0 kB\n', 'f')).toThrow(
      'f: the mapping of "anonymous" has no Pss line',
    );
  });
});

describe('per-VM host delta against per-VM PSS', () => {
  it('passes medians within the stated tolerance, whatever one noisy round says', () => {
    // Three of five rounds agree; the median ignores the two where other work moved MemAvailable.
    const a = hostDeltaAgreesWithPss('template n=8', [27.5, 2.2, 26.9, -1.8, 27.8], [28.1, 28.0, 28.2, 28.1, 28.0]);
    expect(a.ok).toBe(true);
    expect(a.detail).toBe(
      'template n=8: median per-VM host delta 26.9 MiB, median per-VM PSS 28.1 MiB over 5 rounds ' +
        '(host delta/PSS per round: 27.5/28.1, 2.2/28.0, 26.9/28.2, -1.8/28.1, 27.8/28.0); gap 1.2 MiB, tolerance 5.4 MiB (4 MiB + 5% of PSS)',
    );
  });

  it('fails a cell whose medians disagree beyond it, and scales the tolerance with PSS', () => {
    expect(hostDeltaAgreesWithPss('template n=8', [21.6, 0.8, -1.8, 2.2], [28, 28, 28, 28]).ok).toBe(false);
    const tol = (pss: number) => AGREEMENT_TOLERANCE.mib + AGREEMENT_TOLERANCE.fractionOfPss * pss;
    expect(hostDeltaAgreesWithPss('none n=8', [282 - tol(282) + 0.05], [282]).ok).toBe(true);
    expect(hostDeltaAgreesWithPss('none n=8', [282 - tol(282) - 0.05], [282]).ok).toBe(false);
    expect(() => hostDeltaAgreesWithPss('x', [1, 2], [1])).toThrow('x: 2 host-delta rounds against 1 PSS rounds');
  });

  it('is a check the manifest declares, and the manifest states its tolerance', () => {
    expect(densityManifest.checks).toEqual(['host-delta-agrees-with-pss']);
    expect(densityManifest.clock).toContain('more than 4 MiB + 5% of PSS');
  });
});
