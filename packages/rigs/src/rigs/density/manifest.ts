import { defineManifest } from '../../harness/define-manifest.ts';

export const DENSITY_N = ['8', '50', '200', '400', '1000'] as const;

export const densityManifest = defineManifest({
  id: 'density',
  title: 'Density: memory per VM restored from one checkpoint',
  summary:
    'N microVMs of 256 MiB restored from one checkpoint and left running idle: the host memory they cost in total ' +
    '(the fall of MemAvailable) and per VM, with the template\'s RAM shared copy-on-write ("template") and, as the ' +
    'naive baseline in the same run, with every VM holding a private copy ("none"). N goes as far as the host allows; ' +
    'the limit and why are in run.params.',
  script: 'packages/rigs/src/rigs/density/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['qemu-system-x86_64', 'apt-get', 'dpkg-deb', 'cpio', 'busybox'] },
    notes: [
      'Template sharing: the template VM runs on a memory-backend-file in /dev/shm with share=on and is checkpointed ' +
        'with x-ignore-shared (RAM stays in the file); clones map the same file share=off (private copy-on-write).',
      'Naive baseline: a checkpoint holding all of guest RAM, restored into each VM\'s own anonymous memory.',
    ],
  },
  metrics: [
    {
      name: 'host-delta',
      unit: 'MiB',
      description: 'MemAvailable before the N VMs were restored minus MemAvailable after they settled.',
      labels: { n: [...DENSITY_N], sharing: ['template', 'none'] },
    },
    {
      name: 'per-vm',
      unit: 'MiB',
      description: 'Effective memory per VM: host-delta / N.',
      labels: { n: [...DENSITY_N], sharing: ['template', 'none'] },
    },
  ],
  clock:
    'Not a clock: memory. MemAvailable (/proc/meminfo) is read after the checkpoint exists and before the first ' +
    'restore, then again after all N VMs have answered their readiness probe and a settle period (run.params) has ' +
    'passed; host-delta is the difference, per-vm is host-delta / N, one sample each per (n, sharing). The sum of the ' +
    'VMs\' PSS (/proc/PID/smaps_rollup) is recorded beside it in run.params as a cross-check. The template\'s memory ' +
    'file exists before the first reading, so the shared RAM it holds is not counted in host-delta (it is recorded ' +
    'separately in run.params).',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run density',
  samples: { full: 1, quick: 1 },
});
