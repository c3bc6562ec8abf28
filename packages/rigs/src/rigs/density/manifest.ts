import { defineManifest } from '../../harness/define-manifest.ts';
import { LEVER_NAMES } from './lever-names.ts';

export const DENSITY_N = ['8', '50', '200', '400', '1000'] as const;
export const CONTROLLER_N = ['0', ...DENSITY_N] as const;
export const CONTROLLER_LOADERS = ['bundled', 'tsx'] as const;

const controllerLabels = { n: [...CONTROLLER_N], loader: [...CONTROLLER_LOADERS] };
const levelLabels = { n: [...DENSITY_N], sharing: ['template', 'none'] };
const templateLabels = { template: ['code-interpreter-v1'], n: ['8', '50'] };

/** The name of the check that per-VM host delta and per-VM PSS agree (see agreement.ts). */
export const AGREEMENT_CHECK = 'host-delta-agrees-with-pss';
/** How far the medians of per-VM host delta and per-VM PSS may differ: mib + fractionOfPss × PSS. */
export const AGREEMENT_TOLERANCE = { mib: 4, fractionOfPss: 0.05 } as const;

const leverMetric = (name: string, unit: string, description: string) => ({
  name,
  unit,
  description,
  labels: { lever: [...LEVER_NAMES] },
});
const breakdownMetric = (name: string, description: string) => ({
  name,
  unit: 'MiB',
  description,
  labels: levelLabels,
});

export const densityManifest = defineManifest({
  id: 'density',
  title: 'Density: memory per VM restored from one checkpoint',
  summary:
    'N microVMs of 256 MiB restored from one checkpoint and held the way a prewarm pool holds its hot entries ' +
    '(each restored, its readiness probe answered, then SIGSTOPped): the host memory they cost in total (the fall of ' +
    'MemAvailable) and per VM, with the template\'s RAM shared copy-on-write ("template") and, as the naive baseline ' +
    'in the same run, with every VM holding a private copy ("none"). The template VMs are made and held by a pool ' +
    'controller running as a process of its own, whose own memory is measured at each N as well. N goes as far as ' +
    'the host allows; where it stopped and why is in run.params.limits. Each N runs in rounds (restore N, settle, ' +
    'measure, release all, wait for the memory to come back), each round one sample; a check rejects a capture whose ' +
    "per-VM host delta and per-VM PSS disagree. Each VM's memory is broken down by QEMU mapping (guest pages " +
    'dirtied, template share, TCG translation cache, heap, other, page tables).',
  script: 'packages/rigs/src/rigs/density/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['qemu-system-x86_64', 'apt-get', 'dpkg-deb', 'cpio', 'busybox', 'fincore'] },
    notes: [
      'Template sharing: the template VM runs on a memory-backend-file with share=on and is checkpointed with ' +
        'x-ignore-shared (RAM stays in the file); clones map the same file share=off (private copy-on-write).',
      "Naive baseline: a checkpoint holding all of guest RAM, restored into each VM's own anonymous memory.",
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
      labels: levelLabels,
    },
    {
      name: 'template-per-vm',
      unit: 'MiB',
      description:
        'Effective memory per VM of a Debian template (code-interpreter-v1: 512 MiB guest, its agent and a warm Python ' +
        "kernel), N sandboxes held as a prewarm pool's hot entries on their cubenet taps: the fall of MemAvailable / N. " +
        'Compared with per-vm (sharing=template) at the same N of the same run; a label of its own keeps the busybox ' +
        'series as they were.',
      labels: templateLabels,
    },
    {
      name: 'template-pss-per-vm',
      unit: 'MiB',
      description: "Summed PSS of the template sandboxes' QEMU processes / N, beside template-per-vm.",
      labels: templateLabels,
    },
    {
      name: 'template-restore-seconds-per-vm',
      unit: 's',
      description: 'Wall time for the pool to make the N hot entries (two at a time), / N.',
      labels: templateLabels,
    },
    {
      name: 'per-vm',
      unit: 'MiB',
      description: 'Effective memory per VM: host-delta / N.',
      labels: levelLabels,
    },
    {
      name: 'pss-per-vm',
      unit: 'MiB',
      description:
        "The sum of the N VMs' proportional set sizes (PSS, /proc/PID/smaps_rollup) divided by N: per-process accounting, blind to other processes on the host.",
      labels: levelLabels,
    },
    breakdownMetric(
      'vm-guest-dirtied',
      'Guest RAM the VM holds privately, per VM: the Anonymous pages of its guest-RAM mapping in /proc/PID/smaps. ' +
        "template: the mapping of the template memory file (found by the file's inode and the guest's size; " +
        'mapped private, share=off), whose anonymous pages are the pages copied on write since the restore; none: ' +
        "QEMU's anonymous guest RAM (the one anonymous mapping of exactly the guest's size marked not-copied-on-fork, " +
        'VmFlags "dc"): every resident page of it is the VM\'s own (the restore leaves the pages the checkpoint holds as zero unpopulated).',
    ),
    breakdownMetric(
      'vm-template-share',
      "The VM's share of the template file's pages, per VM: PSS of the guest-RAM mapping minus its anonymous pages " +
        '(each shared page divided among the VMs mapping it). Resident before the round, so not in host-delta; 0 without sharing.',
    ),
    breakdownMetric(
      'vm-tcg-cache',
      "TCG's translation cache, per VM: PSS of the anonymous executable mappings (code_gen_buffer, made " +
        'read-write-execute by QEMU; their summed size is tb-size less one guard page, checked at every reading and ' +
        'recorded in run.params.tcgCacheMappedMiB). 0 under KVM.',
    ),
    breakdownMetric(
      'vm-heap',
      "QEMU's heap, per VM: PSS of every other anonymous mapping ([heap], glibc malloc arenas, thread stacks, QEMU's own buffers).",
    ),
    breakdownMetric(
      'vm-other',
      "The rest of the VM's PSS, per VM: file-backed mappings (the QEMU binary and its libraries, their shares of " +
        'pages other processes map too) and kernel-provided ones ([vdso], [vvar]). vm-guest-dirtied + vm-template-share ' +
        '+ vm-tcg-cache + vm-heap + vm-other = pss-per-vm of the same round.',
    ),
    breakdownMetric(
      'vm-page-tables',
      "The VM's page tables, per VM: VmPTE of /proc/PID/status. Kernel memory: in host-delta, not in PSS.",
    ),
    {
      name: 'restore-seconds-per-vm',
      unit: 's',
      description:
        'Wall time to restore the N VMs of a round (two at a time, each probed and stopped) divided by N: N × this is ' +
        'the whole ladder step end to end, to compare with N single restores (single-restore-seconds).',
      labels: levelLabels,
    },
    {
      name: 'single-restore-seconds',
      unit: 's',
      description:
        'One entry restored, probed and stopped by the controller into an empty pool, nothing else running: the single restore.',
      labels: {},
    },
    leverMetric(
      'lever-pss-per-vm',
      'MiB',
      'PSS per VM of leverN VMs restored from the template by QEMU processes started with the lever (run.params.levers), held stopped.',
    ),
    leverMetric('lever-heap', 'MiB', 'The heap part of lever-pss-per-vm (as vm-heap).'),
    leverMetric('lever-tcg-cache', 'MiB', 'The TCG translation cache part of lever-pss-per-vm (as vm-tcg-cache).'),
    leverMetric(
      'lever-guest-dirtied',
      'MiB',
      'The guest pages dirtied since the restore, per VM (as vm-guest-dirtied).',
    ),
    leverMetric('lever-other', 'MiB', 'The file-backed and kernel-provided part of lever-pss-per-vm (as vm-other).'),
    leverMetric('lever-page-tables', 'MiB', 'Page tables per VM (VmPTE, as vm-page-tables): not in PSS.'),
    leverMetric(
      'lever-threads',
      'count',
      'Threads of one QEMU process with the lever, held stopped (mean over the VMs).',
    ),
    leverMetric(
      'lever-restore-ms',
      'ms',
      'Restore call to readiness probe answered, per VM, two restores at a time: the latency a lever must not hurt.',
    ),
    {
      name: 'ksm-cpu-seconds',
      unit: 's',
      description:
        'CPU time ksmd used (utime + stime of /proc/<ksmd pid>/stat) from switching KSM on until the "ksm" lever\'s memory was read ' +
        "(two full scans or 120 s); the host's KSM settings are restored afterwards (run.params.ksm).",
      labels: {},
    },
    {
      name: 'template-resident',
      unit: 'MiB',
      description:
        'Pages of the shared template memory file resident in memory after the N VMs settled (fincore): the one copy all of them map, not in host-delta.',
      labels: { n: [...DENSITY_N] },
    },
    {
      name: 'controller-rss',
      unit: 'MiB',
      description:
        'VmRSS of the pool controller process holding n hot entries (n = 0: open, empty), plus its helper processes, not its VMs.',
      labels: controllerLabels,
    },
    {
      name: 'controller-hwm',
      unit: 'MiB',
      description:
        'VmHWM (peak resident set) of the pool controller process since it started, plus its helper processes.',
      labels: controllerLabels,
    },
    {
      name: 'controller-pss',
      unit: 'MiB',
      description:
        'PSS of the pool controller process (pages shared with other processes divided among them), plus its helper processes.',
      labels: controllerLabels,
    },
  ],
  clock:
    "Not a clock: memory, from the kernel's own accounting. Template sharing: the rig makes the template " +
    'checkpoint, then starts a pool controller as a separate process (pool-controller.ts: a prewarm Pool of ' +
    '@coppice/runtime and nothing else) and, for each N, reads MemAvailable (/proc/meminfo) and the template ' +
    "file's resident pages (fincore), asks the controller to warm N hot entries (two at a time, each restored " +
    'from the checkpoint, probed over its serial console, SIGSTOPped), waits a settle period (run.params), and ' +
    'reads them again; then the controller drains the pool, and the next round (run.params.rounds per N, each a ' +
    'sample of every per-VM series) starts once MemFree has stopped moving. host-delta is the fall of ' +
    'MemAvailable; if the template file is not on tmpfs its page-cache growth is added ' +
    "(run.params.templateMemoryFile says which). per-vm is host-delta / N; pss-per-vm is the VMs' summed PSS / N, " +
    'taken at the same moment. The check ' +
    AGREEMENT_CHECK +
    ' compares, per N and sharing, the median over the ' +
    `rounds of per-vm with that of pss-per-vm and fails when they differ by more than ${AGREEMENT_TOLERANCE.mib} MiB ` +
    `+ ${AGREEMENT_TOLERANCE.fractionOfPss * 100}% of PSS: the two differ legitimately only by kernel memory outside ` +
    'PSS (page tables, slab, kernel stacks: under 1 MiB per VM) and by the template pages the VMs share that were ' +
    'resident before the round (in PSS, not in the fall: a few MiB per VM at N = 8, less beyond), so a larger gap ' +
    "means other work on the host moved MemAvailable and the capture's host delta is not a figure. The vm-* series " +
    "split each VM's PSS by mapping (/proc/PID/smaps, read right after PSS) and add its page tables; each metric " +
    'says how its mappings are identified. MemAvailable is host-wide, so other work on the host moves it too: ' +
    'run.params.meminfoFallMiB has the change of each main /proc/meminfo field, to see where a fall came from. ' +
    "The template file's pages present before the first reading are not in host-delta; template-resident records " +
    "them. Naive: the same in the rig's own process (two restores at a time too), with VMs restored from a " +
    'checkpoint of a freshly booted guest that holds all of its RAM. Controller: VmRSS and VmHWM ' +
    '(/proc/PID/status) and Pss (/proc/PID/smaps_rollup) of the controller process and its helper processes, read ' +
    'while it holds n entries, idle; "bundled" is the controller bundled by esbuild into one file run by plain ' +
    'node, "tsx" the same source run through the tsx loader, as the coppice CLI runs today (the esbuild service ' +
    'process tsx starts on a cold transform cache is counted when it runs). Levels that would pass the memory ' +
    'reserve or the time budget are not run; run.params.limits says which and why, run.params.largestN how far ' +
    'each side got.',
  checks: [AGREEMENT_CHECK],
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run density',
  // Rounds per N: five give a median one noisy round cannot move; quick mode two, to stay fast.
  samples: { full: 5, quick: 2 },
});
