import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcessRunner, type CommandRunner } from '@coppice/runtime';
import { BhyveHypervisor } from '@coppice/runtime/hypervisor';
import { runKernelPatches, type KernelPatchesSetup } from '../../src/rigs/kernel-patches/rig.ts';
import { kernelPatchesManifest } from '../../src/rigs/kernel-patches/manifest.ts';
import { fileState, gitBlobId, PATCH_PINS } from '../../src/rigs/kernel-patches/pinned-source.ts';
import { checkPatch, pinnedTree } from '../../src/rigs/kernel-patches/source-check.ts';
import { unmetRequirements } from '../../src/harness/requirements.ts';
// The shared FreeBSD host model (tests only), with a stock or a patched bhyve and vmm.
import { createFreeBsdHost, type FreeBsdHost } from '../../../runtime/test/freebsd-host/index.ts';
import { vmmState } from '../../../runtime/test/freebsd-host/bhyve.ts';
import { ModelBhyveSystem } from '../../../runtime/test/freebsd-host/bhyve-system.ts';
import { files, writeFile } from '../../../runtime/test/freebsd-host/fs.ts';
import { liveProcesses } from '../../../runtime/test/freebsd-host/processes.ts';
import { freebsdContext } from './freebsd-rig-helpers.ts';
import { repoRoot, tempDir } from '../harness/helpers.ts';

const patchFile = (name: string) => join(repoRoot, 'patches', name);

/**
 * A source tree these patches apply to, made from the patches alone (FreeBSD's files are not in this repository):
 * each touched file holds the pre-image of its hunks (context and removed lines), one hunk after another. Its blob
 * ids are not upstream's, so it is not the pinned tree.
 */
function treeFromPatches(): string {
  const root = tempDir('fbsd-src');
  for (const pin of PATCH_PINS) {
    const text = readFileSync(patchFile(pin.patch), 'utf8');
    for (const section of text.split(/^diff --git /m).slice(1)) {
      const path = /^a\/(\S+) b\//.exec(section)![1]!;
      if (/^new file mode/m.test(section)) continue;
      const pre: string[] = [];
      for (const hunk of section.split(/^@@ .* @@.*$/m).slice(1)) {
        for (const line of hunk.split('\n')) if (line.startsWith(' ') || line.startsWith('-')) pre.push(line.slice(1));
      }
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), `${pre.join('\n')}\n`);
    }
  }
  return root;
}

/**
 * The model host, plus what a rig run needs beyond it, for tests only: the real git (run on this machine's files) and
 * free memory that falls by a VM's whole size when its memory is anonymous and by 8 MiB when it maps the checkpoint.
 */
function runnerFor(host: FreeBsdHost): CommandRunner {
  const real = new ProcessRunner();
  const totalPages = (8 * 1024 ** 3) / 4096;
  host.sysctls.set('hw.pagesize', '4096');
  return {
    run(argv, options) {
      if (argv[0] === 'git') return real.run(argv, options);
      if (argv.join(' ') === 'sysctl -n vm.stats.vm.v_free_count') {
        const usedMiB = [...vmmState(host).vms.values()].reduce(
          (sum, vm) => sum + (vm.memoryBacking === 'vnode' ? 8 : vm.memMiB),
          0,
        );
        return Promise.resolve({
          argv: [...argv],
          code: 0,
          stdout: `${totalPages - (usedMiB * 2 ** 20) / 4096}\n`,
          stderr: '',
        });
      }
      return host.run(argv, options);
    },
  };
}

const FW = '/usr/local/share/uefi-firmware/BHYVE_UEFI.fd';
const IMG = '/vm/img/kp.img';

function modelSetup(host: FreeBsdHost, srcRoot: string): KernelPatchesSetup {
  writeFile(host, FW, 'rom');
  writeFile(host, IMG, 'disk');
  writeFile(host, '/vm/ck/', '');
  return {
    srcRoot,
    restores: {
      hv: new BhyveHypervisor(new ModelBhyveSystem(host), { suspendTimeoutMs: 1000 }),
      image: { name: 'kp-256', disk: IMG, bootrom: FW, memoryMiB: 256, vcpus: 1 },
      runRoot: '/var/run/coppice/kp',
      checkpointDir: '/vm/ck',
    },
  };
}

describe('kernel-patches: the pin', () => {
  it('gitBlobId is git hash-object', () => {
    const dir = tempDir('blob');
    const file = join(dir, 'f');
    writeFileSync(file, 'int\tmain(void);\n');
    expect(gitBlobId(readFileSync(file))).toBe(execFileSync('git', ['hash-object', file], { encoding: 'utf8' }).trim());
  });

  it("the ids pinned in the rig are the ones in the diffs' index lines", () => {
    for (const pin of PATCH_PINS) {
      const text = readFileSync(patchFile(pin.patch), 'utf8');
      const index = [
        ...text.matchAll(/^diff --git a\/(\S+) b\/\S+\n(?:new file mode \d+\n)?index ([0-9a-f]+)\.\.([0-9a-f]+)/gm),
      ].map((m) => ({ path: m[1], before: m[2], after: m[3] }));
      expect(index.map((i) => i.path)).toEqual(pin.files.map((f) => f.path));
      for (const [i, f] of pin.files.entries()) {
        expect(f.after.startsWith(index[i]!.after!), f.path).toBe(true);
        if (f.before) expect(f.before.startsWith(index[i]!.before!), f.path).toBe(true);
        else expect(index[i]!.before).toMatch(/^0+$/);
      }
    }
  });

  it("the README's pin table lists exactly the rig's upstream blob ids", () => {
    const readme = readFileSync(patchFile('README.md'), 'utf8');
    const rows = new Map([...readme.matchAll(/^\| `([^`]+)`\s*\| `([0-9a-f]{40})`/gm)].map((m) => [m[1], m[2]]));
    const pinned = PATCH_PINS.flatMap((pin) => pin.files).filter((f) => f.before !== undefined);
    expect(new Map(pinned.map((f) => [f.path, f.before]))).toEqual(rows);
  });

  it('a file is upstream, patched, missing or other by its blob id; a new file absent is upstream', () => {
    const body = Buffer.from('x\n');
    const pin = { path: 'a', before: gitBlobId(body), after: gitBlobId(Buffer.from('y\n')) };
    expect(fileState(pin, body)).toBe('upstream');
    expect(fileState(pin, Buffer.from('y\n'))).toBe('patched');
    expect(fileState(pin, Buffer.from('z\n'))).toBe('other');
    expect(fileState(pin, undefined)).toBe('missing');
    expect(fileState({ path: 'new', after: pin.after }, undefined)).toBe('upstream');
    expect(
      pinnedTree({ patch: 'vmm-memseg-vnode.diff', files: { a: 'upstream', new: 'upstream' }, application: 'applies' }),
    ).toBe(true);
    expect(
      pinnedTree({ patch: 'vmm-memseg-vnode.diff', files: { a: 'patched', new: 'upstream' }, application: 'applies' }),
    ).toBe(false);
  });
});

describe('kernel-patches: git apply --check on a copy of the tree', () => {
  it('applies, is already applied, or does not apply; the tree is never written', async () => {
    const src = treeFromPatches();
    const bhyverun = join(src, 'usr.sbin/bhyve/bhyverun.c');
    const before = readFileSync(bhyverun, 'utf8');
    const pin = PATCH_PINS[1]!;
    const check = () =>
      checkPatch(new ProcessRunner(), {
        pin,
        srcRoot: src,
        patchFile: patchFile(pin.patch),
        workDir: tempDir('kp-work'),
      });
    const fresh = await check();
    expect(fresh.application).toBe('applies');
    expect(fresh.files).toEqual({ 'usr.sbin/bhyve/bhyverun.c': 'other' });
    expect(readFileSync(bhyverun, 'utf8')).toBe(before);

    execFileSync('git', ['apply', patchFile(pin.patch)], {
      cwd: src,
      env: { ...process.env, GIT_CEILING_DIRECTORIES: dirname(src) },
    });
    expect((await check()).application).toBe('already-applied');

    writeFileSync(bhyverun, before.replace('bhyve_init_config();', 'bhyve_init_defaults();'));
    const broken = await check();
    expect(broken.application).toBe('does-not-apply');
    expect(broken.applyError).toMatch(/bhyverun\.c/);
  });
});

describe('kernel-patches on FreeBSD (host model)', () => {
  it('is skipped on Linux with the platform named as the reason', () => {
    expect(unmetRequirements(kernelPatchesManifest, { platform: 'linux', root: true, hasBinary: () => true })).toEqual([
      'runs on freebsd only; this host is linux',
    ]);
  });

  it('stock host: the patches apply but neither kernel nor bhyve carries them; only the copy side is measured', async () => {
    const host = createFreeBsdHost({ bhyveVnodePatch: false });
    const ctx = freebsdContext(runnerFor(host), kernelPatchesManifest);
    await runKernelPatches(ctx, modelSetup(host, treeFromPatches()));
    expect(ctx.checks.map((c) => [c.name, c.ok])).toEqual([
      ['source-pinned', false],
      ['vmm-memseg-vnode', false],
      ['bhyve-vnode-restore', false],
    ]);
    expect(ctx.checks[0]!.detail).toMatch(/sys\/dev\/vmm\/vmm_dev\.c \(other blob\)/);
    expect(ctx.checks[1]!.detail).toMatch(
      /applies \(git apply --check\); running kernel: no kern\.features\.vmm_memseg_vnode/,
    );
    expect(ctx.checks[2]!.detail).toMatch(/stock bhyve/);
    expect(ctx.params.restoreDensity).toMatch(/vnode side not run/);
    const series = ctx.seriesSet.toSeries().map((s) => [s.metric, s.labels, s.samples]);
    expect(series).toEqual([
      ['host-delta', { n: '8', restore: 'copy' }, [8 * 256]],
      ['per-vm', { n: '8', restore: 'copy' }, [256]],
    ]);
    expect(await ctx.runDeferred()).toEqual([]);
    expect(vmmState(host).vms.size).toBe(0);
    expect(liveProcesses(host)).toEqual([]);
    expect([...files(host).keys()].filter((f) => f.startsWith('/vm/ck/kp'))).toEqual([]);
  });

  it('patched host: both checks pass and the same run measures vnode restore beside the copy', async () => {
    const host = createFreeBsdHost({ bhyveVnodePatch: true });
    const ctx = freebsdContext(runnerFor(host), kernelPatchesManifest);
    await runKernelPatches(ctx, modelSetup(host, treeFromPatches()));
    expect(ctx.checks.map((c) => [c.name, c.ok])).toEqual([
      ['source-pinned', false], // built from the patches, not upstream's files
      ['vmm-memseg-vnode', true],
      ['bhyve-vnode-restore', true],
    ]);
    expect(ctx.checks[2]!.detail).toMatch(/patched bhyve/);
    const deltas = Object.fromEntries(
      ctx.seriesSet
        .toSeries()
        .filter((s) => s.metric === 'host-delta')
        .map((s) => [s.labels.restore, s.samples[0]]),
    );
    expect(deltas).toEqual({ copy: 8 * 256, vnode: 8 * 8 });
    // The vnode side restored with the patch's option; the copy side without it.
    const restores = host.calls.filter((c) => c[0] === 'bhyve' && c[1] === '-r');
    expect(restores.filter((c) => c.includes('snapshot.vnode_restore=true'))).toHaveLength(8);
    expect(restores).toHaveLength(16);
    expect(await ctx.runDeferred()).toEqual([]);
    expect(vmmState(host).vms.size).toBe(0);
    expect(liveProcesses(host)).toEqual([]);
  });

  it('without a guest the checks still run and the params say why nothing was measured', async () => {
    const host = createFreeBsdHost({ bhyveVnodePatch: true });
    const ctx = freebsdContext(runnerFor(host), kernelPatchesManifest);
    await runKernelPatches(ctx, {
      srcRoot: treeFromPatches(),
      noGuest: 'no guest: set COPPICE_BHYVE_GUEST_DISK and COPPICE_BHYVE_BOOTROM',
    });
    expect(ctx.checks).toHaveLength(3);
    expect(ctx.seriesSet.toSeries()).toEqual([]);
    expect(ctx.params.restoreDensity).toBe(
      'not measured: no guest: set COPPICE_BHYVE_GUEST_DISK and COPPICE_BHYVE_BOOTROM',
    );
  });
});
