import { defineManifest } from '../../harness/define-manifest.ts';

export const KERNEL_PATCHES_N = ['8'] as const;
export const RESTORE_MODES = ['vnode', 'copy'] as const;

export const kernelPatchesManifest = defineManifest({
  id: 'kernel-patches',
  title: 'Kernel patches: pinned, applied, carried, and what they save',
  summary:
    'Whether this FreeBSD host carries patches/vmm-memseg-vnode.diff and patches/bhyve-vnode-restore.diff: its ' +
    '/usr/src holds the files they were written against, both apply there, the running kernel and bhyve have them; ' +
    'then N bhyve guests restored from one checkpoint with vnode restore (guest memory a copy-on-write shadow of the ' +
    "checkpoint file) and, in the same run, with the checkpoint copied into each guest's anonymous memory.",
  script: 'packages/rigs/src/rigs/kernel-patches/rig.ts',
  platforms: ['freebsd'],
  requirements: {
    root: true,
    binaries: { freebsd: ['git', 'sysctl', 'bhyve', 'bhyvectl', 'freebsd-version'] },
    notes: [
      'The source tree is /usr/src unless COPPICE_FREEBSD_SRC names another; it is only read (the patches are tried ' +
        "on a copy of the touched files in the run's temporary folder).",
      'The restore measurement needs a bootable guest: COPPICE_BHYVE_GUEST_DISK (disk image) and ' +
        'COPPICE_BHYVE_BOOTROM (UEFI firmware), and a kernel with options BHYVE_SNAPSHOT. Without them the checks ' +
        'still run and run.params.restoreDensity says why nothing was measured.',
      'The vnode side runs only when bhyve carries the patch; a stock bhyve would copy anyway.',
    ],
  },
  metrics: [
    {
      name: 'host-delta',
      unit: 'MiB',
      description:
        'Host memory N restored guests cost: free memory (vm.stats.vm.v_free_count × hw.pagesize) before the ' +
        'restores minus after they settled, by how the restore set up guest memory.',
      labels: { n: [...KERNEL_PATCHES_N], restore: [...RESTORE_MODES] },
    },
    {
      name: 'per-vm',
      unit: 'MiB',
      description: 'host-delta / N.',
      labels: { n: [...KERNEL_PATCHES_N], restore: [...RESTORE_MODES] },
    },
  ],
  checks: ['source-pinned', 'vmm-memseg-vnode', 'bhyve-vnode-restore'],
  clock:
    'Checks, not clocks. source-pinned: every file either patch touches has, in the source tree, the git blob id ' +
    'the patch was written against (upstream) or the id it has once patched; this proves the tree is the one the ' +
    "patches and their review are about. vmm-memseg-vnode: the patch applies to a copy of the tree's files (or " +
    'is already applied: it applies in reverse) with git apply --check, and the running kernel reports ' +
    'kern.features.vmm_memseg_vnode=1, which only the patched vmm sets. bhyve-vnode-restore: the patch applies (or ' +
    "is applied) the same way, and bhyve -o config.dump=true lists snapshot.vnode_restore, the runtime's own " +
    'detection (packages/runtime/src/hypervisor/bhyve/vnode-restore.ts). A check that passes says nothing about ' +
    'the patch being correct, only that this host runs it. Restores: one guest is booted, probed over its ' +
    'console and checkpointed; free memory is read; N guests are restored from that checkpoint one after another, ' +
    'each probed and paused; after a settle period (run.params) free memory is read again and the guests are ' +
    'destroyed. "vnode" restores a checkpoint with template memory on a bhyve that carries the patch; "copy" ' +
    'restores a checkpoint with private memory, which bhyve always copies. Free memory is host-wide: other work on ' +
    'the host moves it too.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run kernel-patches',
  samples: { full: 1, quick: 1 },
});
