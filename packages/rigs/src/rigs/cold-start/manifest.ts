import { defineManifest } from '../../harness/define-manifest.ts';

export const COLD_START_CONFIGS = ['full', 'prewarm', 'durable', 'two-tier'] as const;
export const COLD_START_CC = ['1', '10', '20', '50'] as const;
export const COLD_START_TEMPLATES = ['base', 'code-interpreter-v1'] as const;
const CC_ABOVE_1 = COLD_START_CC.filter((c) => c !== '1');

export const coldStartManifest = defineManifest({
  id: 'cold-start',
  title: 'Cold start: time to a ready sandbox',
  summary:
    'How long a sandbox takes to become ready, by pool configuration (full boot, prewarm pool of SIGSTOPped VMs, ' +
    'durable pool of on-disk checkpoints, two-tier durable + hot) and by concurrency (1, 10, 20, 50 requests released ' +
    'together), with the bare floors measured in the same run: SIGCONT plus one probe on the same VM, and the bare ' +
    'restore of a checkpoint plus one probe, each also at every cc (cc stopped VMs continued at once, cc restores at ' +
    'once), and the refill timeline of the largest two-tier burst.',
  script: 'packages/rigs/src/rigs/cold-start/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['qemu-system-x86_64', 'apt-get', 'dpkg-deb', 'cpio', 'busybox'] },
    notes: [
      'QEMU -M microvm; KVM only when a guest really boots under it, TCG otherwise (recorded in run.params).',
      'The guest is built by packages/runtime/guest/build-guest.sh from Debian packages into /var/cache/coppice/guest.',
      'Full boots at high concurrency on a small host take minutes: the sizes used are in run.params, and a level that ' +
        'would not fit the time budget is recorded as a failure with the reason, never estimated.',
    ],
  },
  metrics: [
    {
      name: 'ready-latency',
      unit: 'ms',
      description: "From just before the checkout call to the guest's answer to the readiness probe, per request.",
      labels: { config: [...COLD_START_CONFIGS], cc: [...COLD_START_CC] },
    },
    {
      name: 'floor-sigcont-probe',
      unit: 'ms',
      description:
        'Bare floor of a prewarm checkout: SIGCONT to a stopped VM plus one serial probe answered, no pool. vm=fresh: ' +
        'a VM restored, probed once and stopped just before, as a pool fills a hot entry (the floor the prewarm target ' +
        'is judged against); vm=reused: one VM stopped and resumed sample after sample, its caches warm.',
      labels: { vm: ['fresh', 'reused'] },
    },
    {
      name: 'floor-restore-probe',
      unit: 'ms',
      description:
        'Bare floor of a durable checkout: the hypervisor restore of a checkpoint plus one probe answered, no pool.',
      labels: {},
    },
    {
      name: 'floor-sigcont-probe-cc',
      unit: 'ms',
      description:
        "Prewarm's floor at concurrency cc: cc VMs restored, probed once and stopped (untimed), then all continued at " +
        'once (SIGCONT) and probed, no pool; each VM one sample. At cc=1 the floor is floor-sigcont-probe (vm=fresh).',
      labels: { cc: CC_ABOVE_1 },
    },
    {
      name: 'floor-restore-probe-cc',
      unit: 'ms',
      description:
        "Durable's floor at concurrency cc: cc restores of the checkpoint started at once, each to its probe answer, no pool; each VM one sample.",
      labels: { cc: CC_ABOVE_1 },
    },
    {
      name: 'agent-ready-latency',
      unit: 'ms',
      description:
        "A Debian template's checkout (base, code-interpreter-v1; each on its cubenet tap with the sandbox host's " +
        "memory and vCPUs): from just before pool.checkout() to the guest agent's answer to GET /health on port 49983 " +
        "over the sandbox's own address, per request. The busybox series above are unchanged.",
      labels: { template: [...COLD_START_TEMPLATES], config: ['prewarm', 'durable', 'two-tier'], cc: ['1', '10'] },
    },
    {
      name: 'floor-sigcont-health',
      unit: 'ms',
      description:
        "Bare floor of a template's prewarm checkout, same template, same run: a clone restored from the template " +
        'checkpoint, addressed and answering /health (untimed, as a hot entry is filled), stopped, then SIGCONT plus ' +
        'one GET /health answered over its address.',
      labels: { template: [...COLD_START_TEMPLATES] },
    },
  ],
  clock:
    "ready-latency: performance.now() just before pool.checkout() until the moment the guest's answer to the " +
    'readiness probe ("ping TOKEN" on its serial console, answered "ready TOKEN" by the guest\'s init) arrives in the ' +
    'controller. For cc=N, N checkouts start in the same event-loop turn and each one is a sample. Between rounds every ' +
    'sandbox is returned (destroyed) and the pool refilled to its size before the next round starts, untimed. ' +
    'floor-sigcont-probe: just before kill(SIGCONT) on a stopped VM until its probe answer; vm=fresh restores, probes ' +
    'and stops a new VM for each sample (untimed), vm=reused stops and resumes one VM. ' +
    'floor-restore-probe: just before the hypervisor restore call (QEMU started with -incoming defer, migrate-incoming ' +
    'from the checkpoint file, cont) until the probe answer. The -cc floors use the same clocks, cc at once, in the ' +
    'same run (before the pools), as many rounds as the pools at that cc. run.params.refillTimeline: the last two-tier ' +
    "round at the largest cc, per event in ms from the round's start: each checkout (start to ready, and the tier " +
    'that served it) and each background fill the returns set off (start to end, and its tier), until the pool is full ' +
    "again; the rig's page draws it. agent-ready-latency and floor-sigcont-health: the same clocks ending at the " +
    "agent's HTTP 2xx to GET /health over the sandbox's cubenet address (prefix cpz, 10.83.0.0/24) instead of the " +
    'serial answer; two-tier for the templates is hot = min(cc, 2), durable = cc; no full boots (one takes minutes).',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run cold-start',
  samples: { full: 20, quick: 3 },
});
