/**
 * kernel-patches: whether this FreeBSD host carries patches/ (pinned source, the patches apply, the running kernel
 * and bhyve have them), then bhyve restores from one checkpoint with vnode restore and with a copy. See manifest.ts.
 */
import { join } from 'node:path';
import { FreeBsdSystem } from '@coppice/runtime/hypervisor';
import { BhyveHypervisor } from '@coppice/runtime/hypervisor';
import { probeVnodeRestore } from '@coppice/runtime/hypervisor';
import type { GuestImage } from '@coppice/runtime/hypervisor';
import type { RigContext } from '../../harness/rig-context.ts';
import { measureRestoreDensity } from '../../lib/freebsd/restore-density.ts';
import { KERNEL_PATCHES_N } from './manifest.ts';
import { PATCH_PINS } from './pinned-source.ts';
import { checkPatch, describeReport, pinnedTree, type PatchReport } from './source-check.ts';

const MiB = 2 ** 20;

/** What the run needs from outside: where the source tree is, and the hypervisor and guest for the restores. */
export interface KernelPatchesSetup {
  srcRoot: string;
  /** Undefined: no guest to restore on this host (the reason is in `noGuest`). */
  restores?: { hv: BhyveHypervisor; image: GuestImage; runRoot: string; checkpointDir: string };
  noGuest?: string;
}

export async function run(ctx: RigContext): Promise<void> {
  await runKernelPatches(ctx, hostSetup(ctx));
}

function hostSetup(ctx: RigContext): KernelPatchesSetup {
  const srcRoot = process.env.COPPICE_FREEBSD_SRC || '/usr/src';
  const disk = process.env.COPPICE_BHYVE_GUEST_DISK;
  const bootrom = process.env.COPPICE_BHYVE_BOOTROM;
  if (!disk || !bootrom)
    return { srcRoot, noGuest: 'no guest: set COPPICE_BHYVE_GUEST_DISK and COPPICE_BHYVE_BOOTROM' };
  const memoryMiB = ctx.param('guestMemoryMiB', 256);
  return {
    srcRoot,
    restores: {
      hv: new BhyveHypervisor(new FreeBsdSystem(ctx.runner)),
      image: { name: `kp-${memoryMiB}`, disk, bootrom, memoryMiB, vcpus: 1 },
      runRoot: join(ctx.tmpdir, 'vms'),
      checkpointDir: ctx.tmpdir,
    },
  };
}

/** The run, with its host dependencies given (tests pass the FreeBSD host model's). */
export async function runKernelPatches(ctx: RigContext, setup: KernelPatchesSetup): Promise<void> {
  ctx.param('srcRoot', setup.srcRoot);
  const reports: PatchReport[] = [];
  for (const pin of PATCH_PINS) {
    reports.push(
      await checkPatch(ctx.runner, {
        pin,
        srcRoot: setup.srcRoot,
        patchFile: join(ctx.repoRoot, 'patches', pin.patch),
        workDir: ctx.tmpdir,
      }),
    );
  }
  ctx.param('sourceFiles', Object.fromEntries(reports.map((r) => [r.patch, r.files])));
  ctx.check('source-pinned', reports.every(pinnedTree), reports.map(describeReport).join('; '));
  const applies = (patch: string) => reports.find((r) => r.patch === patch)!.application !== 'does-not-apply';
  const [vmm, bhyve] = reports as [PatchReport, PatchReport];

  const feature = await ctx.runner.run(['sysctl', '-n', 'kern.features.vmm_memseg_vnode']);
  const kernelHasIt = feature.code === 0 && feature.stdout.trim() === '1';
  ctx.check(
    'vmm-memseg-vnode',
    applies(vmm.patch) && kernelHasIt,
    `${describeReport(vmm)}; running kernel: ${kernelHasIt ? 'kern.features.vmm_memseg_vnode=1' : 'no kern.features.vmm_memseg_vnode (stock vmm)'}`,
  );
  const support = await probeVnodeRestore(ctx.runner);
  ctx.check(
    'bhyve-vnode-restore',
    applies(bhyve.patch) && support.supported,
    `${describeReport(bhyve)}; bhyve: ${support.detail}`,
  );

  if (!setup.restores) {
    ctx.param('restoreDensity', `not measured: ${setup.noGuest}`);
    return;
  }
  const n = ctx.param('n', Number(KERNEL_PATCHES_N[0]));
  const settleMs = ctx.param('settleSeconds', ctx.quick ? 1 : 3) * 1000;
  const sides: Array<'template' | 'private'> = support.supported && kernelHasIt ? ['private', 'template'] : ['private'];
  if (sides.length === 1)
    ctx.param(
      'restoreDensity',
      'vnode side not run: this host lacks the patched kernel or bhyve, so it would copy too',
    );
  for (const memory of sides) {
    const r = await measureRestoreDensity(ctx, {
      ...setup.restores,
      memory,
      n,
      prefix: `kp-${memory}`,
      settleMs,
      probeTimeoutMs: 120_000,
    });
    const labels = { n: String(n), restore: r.mode };
    ctx.series('host-delta', labels).add(r.hostDeltaBytes / MiB);
    ctx.series('per-vm', labels).add(r.hostDeltaBytes / MiB / n);
    ctx.log(`${r.mode} restore, n=${n}: free memory fell ${(r.hostDeltaBytes / MiB).toFixed(1)} MiB`);
  }
}
