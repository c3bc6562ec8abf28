import { defineManifest } from '../../harness/define-manifest.ts';

export const DENSITY_N = ['8', '50', '200', '400', '1000'] as const;
export const CONTROLLER_N = ['0', ...DENSITY_N] as const;
export const CONTROLLER_LOADERS = ['bundled', 'tsx'] as const;

const controllerLabels = { n: [...CONTROLLER_N], loader: [...CONTROLLER_LOADERS] };

export const densityManifest = defineManifest({
  id: 'density',
  title: 'Density: memory per VM restored from one checkpoint',
  summary:
    'N microVMs of 256 MiB restored from one checkpoint and held the way a prewarm pool holds its hot entries ' +
    '(each restored, its readiness probe answered, then SIGSTOPped): the host memory they cost in total (the fall of ' +
    'MemAvailable) and per VM, with the template\'s RAM shared copy-on-write ("template") and, as the naive baseline ' +
    'in the same run, with every VM holding a private copy ("none"). The template VMs are made and held by a pool ' +
    'controller running as a process of its own, whose own memory is measured at each N as well. N goes as far as ' +
    'the host allows; where it stopped and why is in run.params.limits.',
  script: 'packages/rigs/src/rigs/density/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['qemu-system-x86_64', 'apt-get', 'dpkg-deb', 'cpio', 'busybox', 'fincore'] },
    notes: [
      'Template sharing: the template VM runs on a memory-backend-file with share=on and is checkpointed with ' +
        'x-ignore-shared (RAM stays in the file); clones map the same file share=off (private copy-on-write).',
      'Naive baseline: a checkpoint holding all of guest RAM, restored into each VM\'s own anonymous memory.',
      'The VMs are stopped, not running: on a small host N running TCG guests would need N × several % of a core.',
      'fincore(1) comes with util-linux (Debian: util-linux-extra).',
    ],
  },
  metrics: [
    {
      name: 'host-delta',
      unit: 'MiB',
      description:
        'Host memory the N VMs cost: MemAvailable before they were restored minus MemAvailable after they settled ' +
        '(plus, if the template file is a disk file, the growth of its page-cache pages, which MemAvailable counts as free).',
      labels: { n: [...DENSITY_N], sharing: ['template', 'none'] },
    },
    {
      name: 'per-vm',
      unit: 'MiB',
      description: 'Effective memory per VM: host-delta / N.',
      labels: { n: [...DENSITY_N], sharing: ['template', 'none'] },
    },
    {
      name: 'pss-per-vm',
      unit: 'MiB',
      description: 'The sum of the N VMs\' proportional set sizes (PSS, /proc/PID/smaps_rollup) divided by N: per-process accounting, blind to other processes on the host.',
      labels: { n: [...DENSITY_N], sharing: ['template', 'none'] },
    },
    {
      name: 'template-resident',
      unit: 'MiB',
      description: 'Pages of the shared template memory file resident in memory after the N VMs settled (fincore): the one copy all of them map, not in host-delta.',
      labels: { n: [...DENSITY_N] },
    },
    {
      name: 'controller-rss',
      unit: 'MiB',
      description: 'VmRSS of the pool controller process holding n hot entries (n = 0: open, empty), plus its helper processes, not its VMs.',
      labels: controllerLabels,
    },
    {
      name: 'controller-hwm',
      unit: 'MiB',
      description: 'VmHWM (peak resident set) of the pool controller process since it started, plus its helper processes.',
      labels: controllerLabels,
    },
    {
      name: 'controller-pss',
      unit: 'MiB',
      description: 'PSS of the pool controller process (pages shared with other processes divided among them), plus its helper processes.',
      labels: controllerLabels,
    },
  ],
  clock:
    'Not a clock: memory, from the kernel\'s own accounting. Template sharing: the rig makes the template ' +
    'checkpoint, then starts a pool controller as a separate process (pool-controller.ts: a prewarm Pool of ' +
    '@coppice/runtime and nothing else) and, for each N, reads MemAvailable (/proc/meminfo) and the template ' +
    'file\'s resident pages (fincore), asks the controller to warm N hot entries (two at a time, each restored ' +
    'from the checkpoint, probed over its serial console, SIGSTOPped), waits a settle period (run.params), and ' +
    'reads them again; then the controller drains the pool before the next N. host-delta is the fall of ' +
    'MemAvailable; if the template file is not on tmpfs its page-cache growth is added ' +
    '(run.params.templateMemoryFile says which). per-vm is host-delta / N; pss-per-vm is the VMs\' summed PSS / N, ' +
    'taken at the same moment. MemAvailable is host-wide, so other work on the host moves it too: ' +
    'run.params.meminfoFallMiB has the change of each main /proc/meminfo field, to see where a fall came from. ' +
    'The template file\'s pages present before the first reading are not in host-delta; template-resident records ' +
    'them. Naive: the same in the rig\'s own process (two restores at a time too), with VMs restored from a ' +
    'checkpoint of a freshly booted guest that holds all of its RAM. Controller: VmRSS and VmHWM ' +
    '(/proc/PID/status) and Pss (/proc/PID/smaps_rollup) of the controller process and its helper processes, read ' +
    'while it holds n entries, idle; "bundled" is the controller bundled by esbuild into one file run by plain ' +
    'node, "tsx" the same source run through the tsx loader, as the coppice CLI runs today (the esbuild service ' +
    'process tsx starts on a cold transform cache is counted when it runs). Levels that would pass the memory ' +
    'reserve or the time budget are not run; run.params.limits says which and why, run.params.largestN how far ' +
    'each side got.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run density',
  samples: { full: 1, quick: 1 },
});
