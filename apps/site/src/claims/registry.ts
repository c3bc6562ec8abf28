/**
 * The claims registry: every table, row and cell of the claims page, as data. Nothing here is a figure: measured
 * cells name a rig's series and a statistic (computed from the newest result file at build time), published cells
 * name a figure in benchmarks/references/, and prose binds figures with {cell:section.row.column} placeholders.
 * Configuration values the reader is told (guest size, configured rate) are marked {given:...}.
 *
 * Validated at build time against the rig manifests (src/lib/validation/registry-check.ts).
 */
import type { ClaimsRegistryInput, StatName } from '@coppice/results-schema';

/** A statistic of a series; `target` is a bound the project sets on it, in the series' unit. */
const measured = (
  rig: string,
  metric: string,
  labels: Record<string, string>,
  stat: StatName,
  target?: { max?: number; min?: number },
) => ({ kind: 'measured', rig, metric, labels, stat, ...(target ? { target } : {}) }) as const;
/** numerator ÷ denominator; `sameRun` when the target compares figures measured alongside each other. */
const ratio = (
  numerator: ReturnType<typeof measured>,
  denominator: ReturnType<typeof measured>,
  options: { max?: number; min?: number; sameRun?: boolean } = {},
) => {
  const { sameRun = false, ...bound } = options;
  return {
    kind: 'ratio',
    numerator,
    denominator,
    sameRun,
    ...(Object.keys(bound).length ? { target: bound } : {}),
  } as const;
};
const published = (reference: string, figure: string) => ({ kind: 'reference', reference, figure }) as const;
const check = (rig: string, name: string) => ({ kind: 'check', rig, check: name }) as const;
const hostFact = (field: 'cpu' | 'cores' | 'memory' | 'os' | 'kernel' | 'platform' | 'hypervisor' | 'firewall') =>
  ({ kind: 'host', field }) as const;

const coldStart = (config: string) => ({
  'cc1-mean': measured('cold-start', 'ready-latency', { config, cc: '1' }, 'mean'),
  'cc10-mean': measured('cold-start', 'ready-latency', { config, cc: '10' }, 'mean'),
  'cc50-p95': measured('cold-start', 'ready-latency', { config, cc: '50' }, 'p95'),
});

/** A cold-start floor at concurrency cc, p95: the -cc series above 1, the single floor (fresh VM) at 1. */
const ccFloor = (floor: 'floor-sigcont-probe' | 'floor-restore-probe', cc: string) =>
  cc === '1'
    ? measured('cold-start', floor, floor === 'floor-sigcont-probe' ? { vm: 'fresh' } : {}, 'p95')
    : measured('cold-start', `${floor}-cc`, { cc }, 'p95');

// The density rig repeats each N in rounds; the median over them is the figure (one noisy round cannot move it).
const density = (n: string, sharing: 'template' | 'none') => ({
  'host-delta': measured('density', 'host-delta', { n, sharing }, 'median'),
  'per-vm': measured('density', 'per-vm', { n, sharing }, 'median'),
  'pss-per-vm': measured('density', 'pss-per-vm', { n, sharing }, 'median'),
});
/** One part of a VM's memory (a vm-* series of the density rig) at N=50, shared template and private side by side. */
const densityPart = (metric: string) => ({
  template: measured('density', metric, { n: '50', sharing: 'template' }, 'median'),
  none: measured('density', metric, { n: '50', sharing: 'none' }, 'median'),
});

/**
 * A statistic of one e2b-latency series at concurrency cc (SDK clock; `checkout` is the pool floor, `host-create` the
 * checkout with policy and identity, without the gateway).
 */
const e2bLatency = (
  metric: 'create' | 'first-run' | 'kill' | 'end-to-end' | 'checkout' | 'host-create',
  cc: string,
  stat: StatName,
) => measured('e2b-latency', metric, { cc }, stat);

export const registry: ClaimsRegistryInput = {
  intro:
    'Each row below is one claim about Coppice. A number is computed at build time from the raw samples of the newest ' +
    'result file its rig wrote for this host, and links to that file. A dash means the rig exists but has not ' +
    'captured on this host yet; "rig not written yet" means there is nothing to run. Figures in the published ' +
    "columns are other people's measurements, quoted with their source; they are anchors, not ours.",
  sections: [
    {
      id: 'host',
      title: 'Host',
      intro: 'The machine these results were captured on, as the rigs recorded it.',
      rowHeader: 'fact',
      columns: [{ id: 'value', header: 'recorded' }],
      rows: [
        { id: 'cpu', label: 'CPU', cells: { value: hostFact('cpu') } },
        { id: 'cores', label: 'Cores / threads', cells: { value: hostFact('cores') } },
        { id: 'memory', label: 'Memory', cells: { value: hostFact('memory') } },
        { id: 'os', label: 'Operating system', cells: { value: hostFact('os') } },
        { id: 'kernel', label: 'Kernel', cells: { value: hostFact('kernel') } },
        { id: 'hypervisor', label: 'Hypervisor backend', cells: { value: hostFact('hypervisor') } },
        { id: 'firewall', label: 'Firewall backend', cells: { value: hostFact('firewall') } },
      ],
      notes: [
        'Compare hosts before comparing numbers: every published column was measured on another machine, with its ' +
          'own clock; each source and its host are listed at the end of the page.',
      ],
    },
    {
      id: 'targets',
      title: 'Targets',
      intro:
        'The targets the issues set, each a ratio of two figures this host measured: the first divided by the second, ' +
        'both computed from result files and linked to them (hover a ratio for the exact value and the files). "Same ' +
        'run" means both come from one result file, measured alongside each other; "across two runs" means two rigs\' ' +
        'newest files, taken at different times, so the host may have moved in between. Whether a target is met is ' +
        'computed from the ratio, never written here.',
      rowHeader: 'ratio',
      columns: [{ id: 'ratio', header: 'this host' }],
      rows: [
        {
          id: 'rr-v4-bare',
          label: 'Sandbox↔sandbox RTT p50 ÷ bare namespace pair p50, IPv4',
          cells: {
            ratio: ratio(
              measured('net-rr', 'rtt', { family: 'ipv4' }, 'p50'),
              measured('net-rr', 'bare-rtt', { family: 'ipv4' }, 'p50'),
              { max: 1.2, sameRun: true },
            ),
          },
          note: 'What cubenet (bridge port, per-sandbox policy) adds to a round trip, against a bare pair on the same CPUs in alternating blocks of the same run.',
        },
        {
          id: 'rr-v6-bare',
          label: 'Sandbox↔sandbox RTT p50 ÷ bare namespace pair p50, IPv6',
          cells: {
            ratio: ratio(
              measured('net-rr', 'rtt', { family: 'ipv6' }, 'p50'),
              measured('net-rr', 'bare-rtt', { family: 'ipv6' }, 'p50'),
              { max: 1.2, sameRun: true },
            ),
          },
        },
        {
          id: 'rr-v4-floor',
          label: 'Sandbox↔sandbox RTT p50 ÷ host-limits namespace floor p50, IPv4',
          cells: {
            ratio: ratio(
              measured('net-rr', 'rtt', { family: 'ipv4' }, 'p50'),
              measured('host-limits', 'namespace-rr', {}, 'p50'),
              { max: 1.2 },
            ),
          },
          note: 'The same target against the floor host-limits measures in its own run; the paired bare pair above is the like-for-like reading.',
        },
        {
          id: 'policy-replace-vs-floor',
          label:
            'Policy update p50: a batch of 1 000 addresses replaced ÷ the same batch applied by the netlink helper alone',
          cells: {
            ratio: ratio(
              measured('policy-update', 'update-latency', { op: 'replace-1000' }, 'p50'),
              measured('policy-update', 'update-latency', { op: 'replace-1000-floor' }, 'p50'),
              { max: 1.5, sameRun: true },
            ),
          },
          note: "The floor is the kernel's work for the replace's 2 000 element operations plus one helper round trip, measured just before each replace in the same run: what the runtime adds on top (diff, encoding, state file, connection-state check).",
        },
        {
          id: 'policy-replace-vs-add',
          label: 'Policy update p50: a batch of 1 000 addresses ÷ one address added',
          cells: {
            ratio: ratio(
              measured('policy-update', 'update-latency', { op: 'replace-1000' }, 'p50'),
              measured('policy-update', 'update-latency', { op: 'add-one' }, 'p50'),
              { sameRun: true },
            ),
          },
          note: "No target any more: one address added costs less than the kernel's own work for a batch of 2 000 element operations, so this ratio measures the kernel, not the runtime; the replace is held to its floor above.",
        },
        {
          id: 'under-load-vs-idle',
          label: 'Sandbox RTT p99 while policies mutate back to back ÷ p99 under the same flow without mutation',
          cells: {
            ratio: ratio(
              measured('policy-under-load', 'rtt', { condition: 'mutating' }, 'p99'),
              measured('policy-under-load', 'rtt', { condition: 'idle' }, 'p99'),
              { max: 2, sameRun: true },
            ),
          },
          note: 'At {cell:network.under-load-rate.value} replacements per second.',
        },
        {
          id: 'policy-churn-flat',
          label: 'Whole-policy load p95 with 1 000 sandboxes holding theirs ÷ with 10',
          cells: {
            ratio: ratio(
              measured('policy-churn', 'load-latency', { n: '1000' }, 'p95'),
              measured('policy-churn', 'load-latency', { n: '10' }, 'p95'),
              { max: 1.2, sameRun: true },
            ),
          },
          note: 'Flat means a load costs what it costs whatever the number of sandboxes: {cell:network.churn-1000.value} at N=1 000.',
        },
        {
          id: 'policy-add-vs-spawn',
          label: 'Policy update p50, one address added ÷ firewall tool doing nothing p50',
          cells: {
            ratio: ratio(
              measured('policy-update', 'update-latency', { op: 'add-one' }, 'p50'),
              measured('policy-update', 'firewall-spawn', {}, 'p50'),
              { max: 1.5, sameRun: true },
            ),
          },
          note: "The spawn floor measured in the same run, forked from the rig's own (large) process.",
        },
        {
          id: 'policy-add-vs-host-spawn',
          label: 'Policy update p50, one address added ÷ host-limits firewall spawn floor p50',
          cells: {
            ratio: ratio(
              measured('policy-update', 'update-latency', { op: 'add-one' }, 'p50'),
              measured('host-limits', 'firewall-spawn', {}, 'p50'),
              { max: 1.5 },
            ),
          },
          note: 'The same target against the spawn floor host-limits measures from a small process of its own.',
        },
        {
          id: 'prewarm-floor',
          label: 'Prewarm checkout p50, cc=1 ÷ SIGCONT + probe floor p50 on a freshly stopped VM',
          cells: {
            ratio: ratio(
              measured('cold-start', 'ready-latency', { config: 'prewarm', cc: '1' }, 'p50'),
              measured('cold-start', 'floor-sigcont-probe', { vm: 'fresh' }, 'p50'),
              { max: 1.2, sameRun: true },
            ),
          },
          note: 'The floor resumes a VM restored, probed and stopped just before, as a pool fills a hot entry: what the runtime adds on top of resuming one.',
        },
        {
          id: 'prewarm-floor-reused',
          label: 'Prewarm checkout p50, cc=1 ÷ SIGCONT + probe floor p50 on a reused VM',
          cells: {
            ratio: ratio(
              measured('cold-start', 'ready-latency', { config: 'prewarm', cc: '1' }, 'p50'),
              measured('cold-start', 'floor-sigcont-probe', { vm: 'reused' }, 'p50'),
              { sameRun: true },
            ),
          },
          note: 'No target: the same VM stopped and resumed sample after sample keeps its caches warm, a floor no pool entry has. Shown so the choice of floor is visible.',
        },
        {
          id: 'two-tier-vs-prewarm',
          label: 'Two-tier checkout mean, cc=1 ÷ prewarm checkout mean, cc=1',
          cells: {
            ratio: ratio(
              measured('cold-start', 'ready-latency', { config: 'two-tier', cc: '1' }, 'mean'),
              measured('cold-start', 'ready-latency', { config: 'prewarm', cc: '1' }, 'mean'),
              { max: 1.3, sameRun: true },
            ),
          },
        },
        {
          id: 'durable-vs-restore',
          label: 'Durable checkout p50, cc=1 ÷ bare restore + probe floor p50',
          cells: {
            ratio: ratio(
              measured('cold-start', 'ready-latency', { config: 'durable', cc: '1' }, 'p50'),
              measured('cold-start', 'floor-restore-probe', {}, 'p50'),
              { max: 1.5, sameRun: true },
            ),
          },
        },
        ...(['base', 'code-interpreter-v1'] as const).map((template) => ({
          id: `prewarm-floor-${template}`,
          label: `${template}: prewarm checkout p50, cc=1, to the agent's /health ÷ SIGCONT + /health floor p50 of the same template`,
          cells: {
            ratio: ratio(
              measured('cold-start', 'agent-ready-latency', { template, config: 'prewarm', cc: '1' }, 'p50'),
              measured('cold-start', 'floor-sigcont-health', { template }, 'p50'),
              { max: 1.2, sameRun: true },
            ),
          },
          note: "Both clocks end at the agent's HTTP answer over the sandbox's own address; the floor resumes a clone the pool addressed and stopped just before.",
        })),
        {
          id: 'guest-exec-run-code',
          label:
            'runCode("1+1") round trip p50 from the host ÷ (in-guest jupyter_client execute + host↔guest GET /health) p50',
          cells: {
            ratio: ratio(
              measured('guest-exec', 'round-trip', { op: 'run-code' }, 'p50'),
              measured('guest-exec', 'run-code-floor', {}, 'p50'),
              { max: 1.3, sameRun: true },
            ),
          },
          note: "The floor adds, sample by sample, the kernel's own execute timed inside the guest and one HTTP round trip to the guest's agent, both from the same run.",
        },
        {
          id: 'density-code-interpreter',
          label:
            'code-interpreter-v1 per-VM effective at N=50 ÷ busybox guest per-VM effective at N=50 (template sharing)',
          cells: {
            ratio: ratio(
              measured('density', 'template-per-vm', { template: 'code-interpreter-v1', n: '50' }, 'median'),
              measured('density', 'per-vm', { n: '50', sharing: 'template' }, 'median'),
              { max: 1.5, sameRun: true },
            ),
          },
          note: "Both held as a prewarm pool holds its entries (restored, ready, stopped); the code interpreter's guest is bigger and runs its agent and a warm Python kernel.",
        },
        ...(['1', '10', '20', '50'] as const).map((cc) => ({
          id: `prewarm-cc${cc}-floor`,
          label: `Prewarm checkout p95, cc=${cc} ÷ its floor at cc=${cc} p95 (SIGCONT + probe of ${cc === '1' ? 'a freshly stopped VM' : `${cc} stopped VMs at once`})`,
          cells: {
            ratio: ratio(
              measured('cold-start', 'ready-latency', { config: 'prewarm', cc }, 'p95'),
              ccFloor('floor-sigcont-probe', cc),
              { max: 1.3, sameRun: true },
            ),
          },
        })),
        ...(['10', '20'] as const).map((cc) => ({
          id: `two-tier-vs-prewarm-cc${cc}`,
          label: `Two-tier checkout p95, cc=${cc} ÷ prewarm checkout p95, cc=${cc}`,
          cells: {
            ratio: ratio(
              measured('cold-start', 'ready-latency', { config: 'two-tier', cc }, 'p95'),
              measured('cold-start', 'ready-latency', { config: 'prewarm', cc }, 'p95'),
              { max: 1.5, sameRun: true },
            ),
          },
        })),
        ...(['10', '20', '50'] as const).map((cc) => ({
          id: `durable-cc${cc}-floor`,
          label: `Durable checkout p95, cc=${cc} ÷ ${cc} bare restores + probe at once p95`,
          cells: {
            ratio: ratio(
              measured('cold-start', 'ready-latency', { config: 'durable', cc }, 'p95'),
              ccFloor('floor-restore-probe', cc),
              { sameRun: true },
            ),
          },
          note: 'No target: shows how much of the durable tail is the host restoring cc guests at once.',
        })),
        {
          id: 'density-restore-1000',
          label: 'Restore time per VM, 1 000 restored by the pool ÷ one restored alone',
          cells: {
            ratio: ratio(
              measured('density', 'restore-seconds-per-vm', { n: '1000', sharing: 'template' }, 'median'),
              measured('density', 'single-restore-seconds', {}, 'median'),
              { max: 1, sameRun: true },
            ),
          },
          note: 'At most 1: restoring 1 000 takes no longer end to end than 1 000 single restores one after another.',
        },
        {
          id: 'density-sharing',
          label: 'Per-VM memory, N=50: shared template ÷ no sharing',
          cells: {
            ratio: ratio(
              measured('density', 'per-vm', { n: '50', sharing: 'template' }, 'median'),
              measured('density', 'per-vm', { n: '50', sharing: 'none' }, 'median'),
              { sameRun: true },
            ),
          },
          note: 'No ratio target: the target bounds the shared figure itself, {cell:density.n50.per-vm}, against the private baseline measured alongside, {cell:density.n50-private.per-vm}.',
        },
        {
          id: 'e2b-create-floor',
          label: "E2B Sandbox.create p50 at cc=1 (SDK clock) ÷ the template's pool checkout p50",
          cells: {
            ratio: ratio(e2bLatency('create', '1', 'p50'), e2bLatency('checkout', '1', 'p50'), {
              max: 1.5,
              sameRun: true,
            }),
          },
          note: "What the gateway and the SDK add to a checkout: HTTP, the sandbox's policy, the agent told its identity, the row recorded. The floor is the same pool, measured just before the gateway opens it.",
        },
      ],
      notes: [
        'A ratio needs both of its figures on this host; when either is missing it is a dash, and hovering the dash says which.',
      ],
    },
    {
      id: 'cold-start',
      title: 'Cold-start latency by configuration',
      intro:
        'Time from asking the pool for a sandbox until the guest itself answers a readiness probe. cc is the number ' +
        'of requests released together; each request is one sample.',
      rowHeader: 'configuration',
      columns: [
        { id: 'cc1-mean', header: 'cc=1 mean' },
        { id: 'cc10-mean', header: 'cc=10 mean' },
        { id: 'cc50-p95', header: 'cc=50 p95' },
        { id: 'cc50-vs-floor', header: 'cc=50 p95 ÷ floor at cc=50' },
        { id: 'honor', header: 'honor, cc=1 mean', published: true },
      ],
      rows: [
        {
          id: 'full',
          label: 'Full boot',
          rig: 'cold-start',
          cells: { ...coldStart('full'), honor: published('coppice-honor', 'cold-full-cc1-mean') },
          note: 'Boots a fresh guest kernel on every request. The ceiling the pools exist to avoid.',
        },
        {
          id: 'prewarm',
          label: 'Prewarm pool',
          rig: 'cold-start',
          cells: {
            ...coldStart('prewarm'),
            'cc50-vs-floor': ratio(
              measured('cold-start', 'ready-latency', { config: 'prewarm', cc: '50' }, 'p95'),
              ccFloor('floor-sigcont-probe', '50'),
              { max: 1.3, sameRun: true },
            ),
            honor: published('coppice-honor', 'cold-prewarm-cc1-mean'),
          },
          note: 'Booted guests held stopped with SIGSTOP and continued on checkout. Fast, but gone after a host reboot. p50 divided by the bare SIGCONT + probe floor of the same run: {cell:targets.prewarm-floor.ratio}.',
        },
        {
          id: 'durable',
          label: 'Durable pool',
          rig: 'cold-start',
          cells: {
            ...coldStart('durable'),
            'cc50-vs-floor': ratio(
              measured('cold-start', 'ready-latency', { config: 'durable', cc: '50' }, 'p95'),
              ccFloor('floor-restore-probe', '50'),
              { sameRun: true },
            ),
            honor: published('coppice-honor', 'cold-durable-cc1-mean'),
          },
          note: 'Checkpoints written to disk and restored on checkout. Survives a reboot; pays for the restore.',
        },
        {
          id: 'two-tier',
          label: 'Two-tier (durable + prewarm)',
          rig: 'cold-start',
          cells: {
            ...coldStart('two-tier'),
            'cc50-vs-floor': ratio(
              measured('cold-start', 'ready-latency', { config: 'two-tier', cc: '50' }, 'p95'),
              ccFloor('floor-sigcont-probe', '50'),
              { sameRun: true },
            ),
            honor: published('coppice-honor', 'cold-two-tier-cc1-mean'),
          },
          note: 'A stopped hot tier in front of on-disk checkpoints, refilled from them: the shape meant for production.',
        },
        ...(['base', 'code-interpreter-v1'] as const).flatMap((template) =>
          (['prewarm', 'durable', 'two-tier'] as const).map((config) => ({
            id: `${template}-${config}`,
            label: `${template}, ${config} (to the agent's /health)`,
            rig: 'cold-start',
            cells: {
              'cc1-mean': measured('cold-start', 'agent-ready-latency', { template, config, cc: '1' }, 'mean'),
              'cc10-mean': measured('cold-start', 'agent-ready-latency', { template, config, cc: '10' }, 'mean'),
            },
            ...(config === 'prewarm'
              ? {
                  note: `The Debian template with its agent${template === 'code-interpreter-v1' ? ' and a warm Python kernel' : ''}, ready when GET /health answers over the sandbox's address. p50 ÷ its SIGCONT + /health floor: {cell:targets.prewarm-floor-${template}.ratio}.`,
                }
              : {}),
          })),
        ),
        {
          id: 'cubesandbox',
          label: 'CubeSandbox (published, API clock)',
          cells: {
            'cc1-mean': published('cubesandbox', 'create-cc1-avg'),
            'cc10-mean': published('cubesandbox', 'create-cc10-avg'),
            'cc50-p95': published('cubesandbox', 'create-cc50-p95'),
          },
          note:
            'Its clock stops when the API reports the sandbox running, not when the guest answers, on a host with ' +
            'many more cores: an anchor, not a like-for-like comparison.',
        },
        {
          id: 'firecracker',
          label: 'Firecracker snapshot resume (published target)',
          cells: { 'cc1-mean': published('firecracker', 'snapshot-resume') },
          note: 'A design target for resuming one snapshot on a bare-metal host, not a pool measurement.',
        },
      ],
      chart: {
        kind: 'samples-log',
        title:
          'cc=1 latency per configuration, log scale: line from fastest to slowest sample, bar over the middle half, dot at the mean',
        rig: 'cold-start',
        metric: 'ready-latency',
        labels: { cc: '1' },
        by: 'config',
        values: ['full', 'prewarm', 'durable', 'two-tier'],
        stat: 'mean',
      },
      notes: [
        'All four configurations are measured to the same guest-side readiness probe, so they compare with each ' +
          "other directly. At high concurrency the guests compete for the host's threads; the cc=50 column shows " +
          'that cost, not a pool defect.',
      ],
    },
    {
      id: 'density',
      title: 'Density',
      intro:
        'N guests of {given:256 MiB} each, restored from one checkpoint whose memory is shared copy-on-write, each ' +
        'answering its readiness probe and then held stopped, the way a prewarm pool holds its entries. Host Δ is how ' +
        "much the host's available memory fell with all N held; per-VM effective is that fall divided by N. The " +
        "template's own copy of the memory, which all of them share, was there before and is not in the fall. PSS per VM " +
        "is the guests' own accounting (their proportional set sizes summed, divided by N), a check on the fall, which " +
        'moves with everything else the host does. Each N is measured in several rounds, each from an empty host; ' +
        'the figures are the medians over the rounds.',
      rowHeader: 'concurrent guests',
      columns: [
        { id: 'host-delta', header: 'host Δ' },
        { id: 'per-vm', header: 'per-VM effective' },
        { id: 'pss-per-vm', header: 'per-VM PSS' },
        { id: 'honor', header: 'per-VM (published)', published: true },
      ],
      rows: [
        {
          id: 'n8',
          label: '8 × {given:256 MiB}',
          rig: 'density',
          cells: { ...density('8', 'template'), honor: published('coppice-honor', 'density-8-per-vm') },
        },
        {
          id: 'n50',
          label: '50 × {given:256 MiB}',
          rig: 'density',
          cells: {
            ...density('50', 'template'),
            'per-vm': measured('density', 'per-vm', { n: '50', sharing: 'template' }, 'median', { max: 26 }),
            honor: published('coppice-honor', 'density-50-per-vm'),
          },
          note: 'The size the per-VM target is set for.',
        },
        {
          id: 'n200',
          label: '200 × {given:256 MiB}',
          rig: 'density',
          cells: { ...density('200', 'template'), honor: published('coppice-honor', 'density-200-per-vm') },
        },
        {
          id: 'n400',
          label: '400 × {given:256 MiB}',
          rig: 'density',
          cells: { ...density('400', 'template'), honor: published('coppice-honor', 'density-400-per-vm') },
        },
        {
          id: 'n1000',
          label: '1 000 × {given:256 MiB}',
          rig: 'density',
          cells: {
            ...density('1000', 'template'),
            'per-vm': measured('density', 'per-vm', { n: '1000', sharing: 'template' }, 'median', { max: 16 }),
            honor: published('coppice-honor', 'density-1000-per-vm'),
          },
          note: 'Without sharing, this many guests would need their full memory each; the template makes it fit.',
        },
        {
          id: 'n8-private',
          label: '8 × {given:256 MiB}, no sharing',
          rig: 'density',
          cells: density('8', 'none'),
          note: 'The same guests with private memory: the baseline the shared template is judged against.',
        },
        {
          id: 'n50-private',
          label: '50 × {given:256 MiB}, no sharing',
          rig: 'density',
          cells: density('50', 'none'),
          note: 'The baseline at the size the sharing target is set for.',
        },
        {
          id: 'agreement',
          label: 'Host Δ per VM agrees with PSS per VM, each N',
          rig: 'density',
          cells: { 'per-vm': check('density', 'host-delta-agrees-with-pss') },
          note:
            'Per N and sharing, the median per-VM host Δ over the rounds against the median per-VM PSS, within the ' +
            'tolerance the rig states (kernel memory and already-resident template pages explain a small gap). A ' +
            "failure means other work on the host moved its available memory during the rounds: that capture's host Δ " +
            'and per-VM effective figures are noise, and PSS is the figure to read.',
        },
        {
          id: 'cubesandbox',
          label: 'CubeSandbox, 1 000 sandboxes (published)',
          cells: { honor: published('cubesandbox', 'per-vm-1000') },
          note: 'Idle {given:2 GiB} sandboxes on a large bare-metal host; memory counted with free.',
        },
        {
          id: 'firecracker',
          label: 'Firecracker VMM overhead (published target)',
          cells: { honor: published('firecracker', 'vmm-overhead') },
          note: 'The VMM threads alone, excluding guest memory.',
        },
      ],
      notes: [
        'The sharing is copy-on-write: a page a guest writes becomes its own, so the per-VM figure grows with what the guests do.',
      ],
    },
    {
      id: 'density-breakdown',
      title: "Where a VM's memory goes",
      intro:
        'Each VM of the density rows at 50 × {given:256 MiB}, split by the mappings of its QEMU process (/proc/PID/smaps), ' +
        "per VM, median over the rounds. The parts other than page tables add up to the per-VM PSS; the rig's manifest " +
        'says how each mapping is identified.',
      rowHeader: 'part',
      columns: [
        { id: 'template', header: 'shared template' },
        { id: 'none', header: 'no sharing' },
      ],
      rows: [
        {
          id: 'guest-dirtied',
          label: 'Guest pages of its own',
          rig: 'density',
          cells: densityPart('vm-guest-dirtied'),
          note: 'With a template: pages the guest wrote since its restore, copied out of the shared file. Without: the pages of its private copy the restore populated.',
        },
        {
          id: 'template-share',
          label: "Share of the template's pages",
          rig: 'density',
          cells: densityPart('vm-template-share'),
          note: "The template file's pages the VM maps, divided among the VMs mapping them; resident before the VMs came, so not in host Δ.",
        },
        {
          id: 'tcg-cache',
          label: 'TCG translation cache',
          rig: 'density',
          cells: densityPart('vm-tcg-cache'),
          note: 'Per VM under TCG (no KVM on this host), at most tb-size.',
        },
        {
          id: 'heap',
          label: 'QEMU heap',
          rig: 'density',
          cells: densityPart('vm-heap'),
          note: "Every other anonymous mapping: malloc heap and arenas, thread stacks, QEMU's own buffers.",
        },
        { id: 'other', label: 'Other (QEMU binary, libraries)', rig: 'density', cells: densityPart('vm-other') },
        {
          id: 'page-tables',
          label: 'Page tables',
          rig: 'density',
          cells: densityPart('vm-page-tables'),
          note: 'Kernel memory: in host Δ, not in PSS.',
        },
      ],
    },
    {
      id: 'network',
      title: 'Network isolation',
      intro:
        'Cubenet gives each sandbox an address, a link on a bridge and its own firewall policy. Endpoints here are ' +
        'network namespaces (Linux) or VNET jails (FreeBSD), so the numbers are the network path, not a guest.',
      rowHeader: 'metric',
      columns: [
        { id: 'value', header: 'this host' },
        { id: 'honor', header: 'cubenet on honor (published)', published: true },
        { id: 'ebpf', header: 'Linux/eBPF, typical (published)', published: true },
      ],
      rows: [
        {
          id: 'rr-p50',
          label: 'sandbox↔sandbox RTT, p50',
          rig: 'net-rr',
          cells: {
            value: measured('net-rr', 'rtt', { family: 'ipv4' }, 'p50'),
            honor: published('coppice-honor', 'net-rr-p50'),
            ebpf: published('linux-ebpf-typical', 'rr-p50'),
          },
          note: 'Client and server on different CPUs. Divided by the bare pair measured alongside: {cell:targets.rr-v4-bare.ratio}; by the host-limits floor, pinned the same way: {cell:targets.rr-v4-floor.ratio}.',
        },
        {
          id: 'rr-bare-p50',
          label: 'Bare namespace pair, same run, p50',
          rig: 'net-rr',
          cells: { value: measured('net-rr', 'bare-rtt', { family: 'ipv4' }, 'p50') },
          note: 'Two namespaces (jails on FreeBSD) on a bridge of their own, no cubenet and no policy, same tool and CPUs, in blocks alternating with the sandbox row: its paired floor.',
        },
        {
          id: 'rr-p99',
          label: 'sandbox↔sandbox RTT, p99',
          rig: 'net-rr',
          cells: {
            value: measured('net-rr', 'rtt', { family: 'ipv4' }, 'p99'),
            honor: published('coppice-honor', 'net-rr-p99'),
            ebpf: published('linux-ebpf-typical', 'rr-p99'),
          },
        },
        {
          id: 'rr-bare-p99',
          label: 'Bare namespace pair, same run, p99',
          rig: 'net-rr',
          cells: { value: measured('net-rr', 'bare-rtt', { family: 'ipv4' }, 'p99') },
        },
        {
          id: 'rr-same-cpu-p50',
          label: 'sandbox↔sandbox RTT, both ends on one CPU, p50',
          rig: 'net-rr',
          cells: { value: measured('net-rr', 'same-cpu-rtt', { path: 'sandbox' }, 'p50') },
          note: 'The bare pair on one CPU in the same run: {cell:network.rr-same-cpu-bare-p50.value}. Where the scheduler puts the two ends moves this round trip on a small VM, so every RR row is pinned.',
        },
        {
          id: 'rr-same-cpu-bare-p50',
          label: 'Bare namespace pair, both ends on one CPU, p50',
          rig: 'net-rr',
          cells: { value: measured('net-rr', 'same-cpu-rtt', { path: 'bare' }, 'p50') },
        },
        {
          id: 'throughput-1',
          label: 'TCP throughput, one stream',
          rig: 'net-throughput',
          cells: {
            value: measured('net-throughput', 'throughput', { family: 'ipv4', streams: '1' }, 'median'),
            honor: published('coppice-honor', 'net-throughput-1'),
            ebpf: published('linux-ebpf-typical', 'throughput-1'),
          },
        },
        {
          id: 'throughput-16',
          label: 'TCP throughput, 16 streams',
          rig: 'net-throughput',
          cells: {
            value: measured('net-throughput', 'throughput', { family: 'ipv4', streams: '16' }, 'median'),
            honor: published('coppice-honor', 'net-throughput-16'),
            ebpf: published('linux-ebpf-typical', 'throughput-multi'),
          },
        },
        {
          id: 'policy-add-one',
          label: 'Policy update, one address added',
          rig: 'policy-update',
          cells: {
            value: measured('policy-update', 'update-latency', { op: 'add-one' }, 'p50'),
            honor: published('coppice-honor', 'policy-add-one'),
            ebpf: published('linux-ebpf-typical', 'policy-add-one'),
          },
          note: "Wall clock of cubenet.addAddresses until the element is in the kernel and the state file written. On Linux no process is started (one netlink batch through the runtime's long-lived helper); on FreeBSD it is one pfctl invocation, process start included.",
        },
        {
          id: 'policy-replace-1000',
          label: 'Policy update, 1 000 addresses in one batch',
          rig: 'policy-update',
          cells: {
            value: measured('policy-update', 'update-latency', { op: 'replace-1000' }, 'p50'),
            honor: published('coppice-honor', 'policy-replace-1000'),
            ebpf: published('linux-ebpf-typical', 'policy-replace-1000'),
          },
        },
        {
          id: 'policy-spawn',
          label: 'Firewall tool doing nothing (same run)',
          rig: 'policy-update',
          cells: { value: measured('policy-update', 'firewall-spawn', {}, 'p50') },
          note: 'The floor under both policy rows above, measured alongside them. One address added ÷ this: {cell:targets.policy-add-vs-spawn.ratio}; the batch of 1 000 ÷ one address: {cell:targets.policy-replace-vs-add.ratio}.',
        },
        {
          id: 'under-load-idle',
          label: 'RTT p99, policy idle',
          rig: 'policy-under-load',
          cells: { value: measured('policy-under-load', 'rtt', { condition: 'idle' }, 'p99') },
        },
        {
          id: 'under-load-mutating',
          label: 'RTT p99, policy mutating',
          rig: 'policy-under-load',
          cells: {
            value: measured('policy-under-load', 'rtt', { condition: 'mutating' }, 'p99'),
            honor: published('coppice-honor', 'policy-under-load'),
            ebpf: published('linux-ebpf-typical', 'policy-under-load'),
          },
          note: 'Compare with the idle row: the difference is what rewriting policy costs traffic in flight.',
        },
        {
          id: 'under-load-rate',
          label: 'Policy replacements per second achieved while mutating',
          rig: 'policy-under-load',
          cells: { value: measured('policy-under-load', 'mutation-rate', {}, 'median') },
          note: 'How hard the mutating row above was pushed: 100-address allowOut replacements, back to back, median over the mutating slices.',
        },
        {
          id: 'churn-1000',
          label: 'Per-sandbox policies, N=1 000: load p95',
          rig: 'policy-churn',
          cells: {
            value: measured('policy-churn', 'load-latency', { n: '1000' }, 'p95', { max: 1.5 }),
            honor: published('coppice-honor', 'policy-churn-1000'),
            ebpf: published('linux-ebpf-typical', 'policy-churn-1000'),
          },
        },
        {
          id: 'ext-forward',
          label: 'External → sandbox through a port forward, p50',
          rig: 'ext-to-sandbox',
          cells: {
            value: measured('ext-to-sandbox', 'rtt', { path: 'forward' }, 'p50'),
            honor: published('coppice-honor', 'ext-forward'),
            ebpf: published('linux-ebpf-typical', 'ext-forward'),
          },
          note: 'Read against the direct row below; the published figure is the added latency.',
        },
        {
          id: 'ext-direct',
          label: 'External → sandbox directly, p50',
          rig: 'ext-to-sandbox',
          cells: { value: measured('ext-to-sandbox', 'rtt', { path: 'direct' }, 'p50') },
        },
        {
          id: 'rr-v6-p50',
          label: 'IPv6 sandbox↔sandbox RTT, p50',
          rig: 'net-rr',
          cells: {
            value: measured('net-rr', 'rtt', { family: 'ipv6' }, 'p50'),
            honor: published('coppice-honor', 'net-rr-v6-p50'),
            ebpf: published('linux-ebpf-typical', 'rr-v6-p50'),
          },
          note: 'Measured with tcp-rr (the sockperf here has no IPv6); divided by the bare pair below, same tool, same run: {cell:targets.rr-v6-bare.ratio}.',
        },
        {
          id: 'rr-v6-bare-p50',
          label: 'IPv6 bare namespace pair, same run, p50',
          rig: 'net-rr',
          cells: { value: measured('net-rr', 'bare-rtt', { family: 'ipv6' }, 'p50') },
        },
        {
          id: 'rr-v6-p99',
          label: 'IPv6 sandbox↔sandbox RTT, p99',
          rig: 'net-rr',
          cells: { value: measured('net-rr', 'rtt', { family: 'ipv6' }, 'p99') },
        },
        {
          id: 'rr-v6-bare-p99',
          label: 'IPv6 bare namespace pair, same run, p99',
          rig: 'net-rr',
          cells: { value: measured('net-rr', 'bare-rtt', { family: 'ipv6' }, 'p99') },
        },
        {
          id: 'throughput-v6-1',
          label: 'IPv6 TCP throughput, one stream',
          rig: 'net-throughput',
          cells: {
            value: measured('net-throughput', 'throughput', { family: 'ipv6', streams: '1' }, 'median'),
            honor: published('coppice-honor', 'net-throughput-v6-1'),
            ebpf: published('linux-ebpf-typical', 'throughput-v6-1'),
          },
        },
        {
          id: 'egress-nat-v4',
          label: 'Egress through NAT, IPv4, p50',
          rig: 'egress',
          cells: { value: measured('egress', 'rtt', { family: 'ipv4', path: 'nat' }, 'p50') },
        },
        {
          id: 'egress-direct-v4',
          label: 'Host-direct, IPv4, p50',
          rig: 'egress',
          cells: { value: measured('egress', 'rtt', { family: 'ipv4', path: 'direct' }, 'p50') },
        },
        {
          id: 'egress-nat-v6',
          label: 'Egress through NAT, IPv6, p50',
          rig: 'egress',
          cells: {
            value: measured('egress', 'rtt', { family: 'ipv6', path: 'nat' }, 'p50'),
            honor: published('coppice-honor', 'egress-nat66'),
            ebpf: published('linux-ebpf-typical', 'egress-nat66'),
          },
          note: 'Our egress target is an endpoint inside a namespace the rig creates, never the internet; the published figure went to a public resolver.',
        },
        {
          id: 'egress-direct-v6',
          label: 'Host-direct, IPv6, p50',
          rig: 'egress',
          cells: { value: measured('egress', 'rtt', { family: 'ipv6', path: 'direct' }, 'p50') },
        },
        {
          id: 'rate-limit',
          label: 'Per-sandbox rate limit, {given:100 Mbit/s} configured: achieved',
          rig: 'rate-limit',
          cells: {
            value: measured('rate-limit', 'achieved-rate', { configured: '100' }, 'median'),
            honor: published('coppice-honor', 'rate-limit'),
            ebpf: published('linux-ebpf-typical', 'rate-limit'),
          },
        },
        {
          id: 'rate-limit-check',
          label: 'Achieved rate within {given:5 %} of configured',
          rig: 'rate-limit',
          cells: { value: check('rate-limit', 'within-5-percent') },
        },
      ],
      notes: [
        'The Linux/eBPF column repeats typical figures as the Coppice authors published them; nobody here measured a ' +
          'Cilium host. Treat it as context, not as a result.',
      ],
    },
    {
      id: 'lifecycle',
      title: 'Lifecycle',
      intro:
        'Handing a sandbox out (address, link, policy, pool entry) and taking it back (link removed, policy ' +
        'flushed, connection state killed), refilling the pool behind it, and an audit after every sandbox is released.',
      rowHeader: 'operation',
      columns: [
        { id: 'mean', header: 'mean' },
        { id: 'p95', header: 'p95' },
        { id: 'honor-mean', header: 'honor mean (published)', published: true },
        { id: 'honor-p95', header: 'honor p95 (published)', published: true },
      ],
      rows: [
        {
          id: 'checkout',
          label: 'checkout',
          rig: 'lifecycle',
          cells: {
            mean: measured('lifecycle', 'checkout', {}, 'mean'),
            p95: measured('lifecycle', 'checkout', {}, 'p95', { max: 25 }),
            'honor-mean': published('coppice-honor', 'checkout-mean'),
            'honor-p95': published('coppice-honor', 'checkout-p95'),
          },
        },
        {
          id: 'release',
          label: 'release',
          rig: 'lifecycle',
          cells: {
            mean: measured('lifecycle', 'release', {}, 'mean'),
            p95: measured('lifecycle', 'release', {}, 'p95', { max: 25 }),
            'honor-mean': published('coppice-honor', 'release-mean'),
            'honor-p95': published('coppice-honor', 'release-p95'),
          },
        },
        {
          id: 'refill-hot',
          label: 'pool refill: one hot entry',
          rig: 'pool-refill',
          cells: {
            mean: measured('pool-refill', 'refill', { tier: 'hot' }, 'mean'),
            p95: measured('pool-refill', 'refill', { tier: 'hot' }, 'p95'),
          },
          note: 'Restore from the cold tier, probe, stop: what a two-tier pool spends after each checkout.',
        },
        {
          id: 'refill-durable',
          label: 'pool refill: one durable entry',
          rig: 'pool-refill',
          cells: {
            mean: measured('pool-refill', 'refill', { tier: 'durable' }, 'mean'),
            p95: measured('pool-refill', 'refill', { tier: 'durable' }, 'p95'),
          },
          note: 'A new checkpoint on disk that shares the template memory.',
        },
        {
          id: 'leaked',
          label: 'state leaked after releasing all',
          rig: 'lifecycle',
          cells: {
            mean: check('lifecycle', 'leaked-after-release-all'),
            'honor-mean': published('coppice-honor', 'leaked-states'),
          },
          note: 'Counts connection states, firewall chains or anchors, and endpoints still present after release: correctness, not speed.',
        },
      ],
    },
    {
      id: 'e2b-latency',
      title: "E2B latency by the SDK's clock",
      intro:
        'The official code-interpreter SDK against the gateway on this host: Sandbox.create(), the first runCode("1+1"), ' +
        "kill(), with cc calls released together. The floor is the same template's pool checkout in the same run; " +
        "between them, the same checkout with the sandbox's policy and the agent's /init, as the gateway does it. " +
        "Above the pool's hot tier a level measures restores as well (the rig's manifest says how many of each).",
      rowHeader: 'call',
      columns: [
        { id: 'p50', header: 'p50' },
        { id: 'p95', header: 'p95' },
        { id: 'floor-p50', header: 'pool checkout p50, same run' },
        { id: 'host-p50', header: 'checkout + policy + identity p50, no gateway' },
        { id: 'cubesandbox', header: 'CubeSandbox create, avg', published: true },
      ],
      rows: [
        ...(['1', '10', '50'] as const).map((cc) => ({
          id: `create-cc${cc}`,
          label: `Sandbox.create, cc=${cc}`,
          rig: 'e2b-latency',
          cells: {
            p50: e2bLatency('create', cc, 'p50'),
            p95: e2bLatency('create', cc, 'p95'),
            'floor-p50': e2bLatency('checkout', cc, 'p50'),
            'host-p50': e2bLatency('host-create', cc, 'p50'),
            cubesandbox: published('cubesandbox', `create-cc${cc}-avg`),
          },
          ...(cc === '1'
            ? {
                note: "Ratio to the floor: {cell:targets.e2b-create-floor.ratio}. CubeSandbox's figure is an average on its API clock (until its API reports the sandbox running) on a 96-thread host: an anchor, not a like-for-like comparison.",
              }
            : {}),
        })),
        {
          id: 'first-run-cc1',
          label: 'first runCode("1+1"), cc=1',
          rig: 'e2b-latency',
          cells: { p50: e2bLatency('first-run', '1', 'p50'), p95: e2bLatency('first-run', '1', 'p95') },
        },
        {
          id: 'kill-cc1',
          label: 'kill, cc=1',
          rig: 'e2b-latency',
          cells: { p50: e2bLatency('kill', '1', 'p50'), p95: e2bLatency('kill', '1', 'p95') },
        },
        {
          id: 'end-to-end-cc1',
          label: 'create → first runCode → kill, cc=1',
          rig: 'e2b-latency',
          cells: { p50: e2bLatency('end-to-end', '1', 'p50'), p95: e2bLatency('end-to-end', '1', 'p95') },
        },
        {
          id: 'rss-50',
          label: 'Gateway RSS holding {given:50} sandboxes',
          rig: 'e2b-latency',
          cells: { p50: measured('e2b-latency', 'gateway-rss', { held: '50' }, 'p50', { max: 143 }) },
          note: "The gateway as a process of its own (node with the tsx loader), held to its target's upper bound (shown with the figure); with no sandbox it holds {cell:e2b-latency.rss-0.p50}.",
        },
        {
          id: 'rss-0',
          label: 'Gateway RSS holding no sandbox',
          rig: 'e2b-latency',
          cells: { p50: measured('e2b-latency', 'gateway-rss', { held: '0' }, 'p50') },
        },
        {
          id: 'leak-cycles',
          label: 'left behind after create/kill cycles',
          rig: 'e2b-latency',
          cells: { p50: check('e2b-latency', 'no-leak-after-cycles') },
          note: "VMs, cubenet endpoints, disk layers and checkpoints, pool entries and gateway rows beyond the pool's idle entries, read from outside the runtime.",
        },
        {
          id: 'leak-sigkill',
          label: 'left behind after a SIGKILL of the gateway mid-create and a restart',
          rig: 'e2b-latency',
          cells: { p50: check('e2b-latency', 'no-leak-after-sigkill-restart') },
          note: "The restarted gateway's reconcile must roll the half-done create back.",
        },
      ],
    },
    {
      id: 'e2b',
      title: 'E2B compatibility surface',
      intro: 'Whether the E2B SDKs work unchanged against Coppice, per class of endpoint, from pass/fail checks.',
      rowHeader: 'endpoint class',
      columns: [{ id: 'status', header: 'status' }],
      rows: [
        {
          id: 'api-server',
          label: 'API server: create, delete, pause, resume, metrics, timeout',
          rig: 'e2b-compat',
          cells: { status: check('e2b-compat', 'api-server') },
        },
        {
          id: 'envd-execute',
          label: 'envd execute (run code, streamed output)',
          rig: 'e2b-compat',
          cells: { status: check('e2b-compat', 'envd-execute') },
        },
        {
          id: 'port-routing',
          label: 'Per-sandbox port routing by host name',
          rig: 'e2b-compat',
          cells: { status: check('e2b-compat', 'port-routing') },
        },
        {
          id: 'filesystem-api',
          label: 'Filesystem API',
          rig: 'e2b-compat',
          cells: { status: check('e2b-compat', 'filesystem-api') },
        },
        {
          id: 'persistent-kernel',
          label: 'Persistent kernel (interpreter state across calls)',
          rig: 'e2b-compat',
          cells: { status: check('e2b-compat', 'persistent-kernel') },
        },
      ],
    },
    {
      id: 'kernel-patches',
      title: 'Kernel patches',
      intro:
        "The FreeBSD changes the density figures depend on, each with a check that this host's source holds the files " +
        'they were written against, that they apply, and that the running kernel and bhyve carry them. Neither patch ' +
        'has been compiled or run by this project.',
      rowHeader: 'patch',
      columns: [{ id: 'state', header: 'state' }],
      rows: [
        {
          id: 'vmm-memseg-vnode',
          label: 'patches/vmm-memseg-vnode.diff',
          rig: 'kernel-patches',
          cells: { state: check('kernel-patches', 'vmm-memseg-vnode') },
          note:
            'Lets guest memory be a copy-on-write shadow of a file shared between guests. Not compiled or run by this ' +
            'project: checked only to apply to the FreeBSD files it was written against, and reviewed (patches/README.md).',
        },
        {
          id: 'bhyve-vnode-restore',
          label: 'patches/bhyve-vnode-restore.diff',
          rig: 'kernel-patches',
          cells: { state: check('kernel-patches', 'bhyve-vnode-restore') },
          note:
            'Teaches bhyve restore to map a checkpoint instead of copying it. Not compiled or run by this project: ' +
            'checked only to apply to the FreeBSD file it was written against, and reviewed (patches/README.md).',
        },
      ],
    },
    {
      id: 'floors',
      title: 'Floors',
      intro:
        'What this host can do at best, measured without Coppice in the way. A runtime figure close to its floor ' +
        'has little left to gain; one far above it is where to look.',
      rowHeader: 'floor',
      columns: [
        { id: 'mean', header: 'mean' },
        { id: 'p50', header: 'p50' },
        { id: 'p99', header: 'p99' },
      ],
      rows: [
        {
          id: 'sigcont-resume',
          label: 'Stopped process resumed until it answers',
          rig: 'host-limits',
          cells: {
            mean: measured('host-limits', 'sigcont-resume', {}, 'mean'),
            p50: measured('host-limits', 'sigcont-resume', {}, 'p50'),
            p99: measured('host-limits', 'sigcont-resume', {}, 'p99'),
          },
          note: 'Floor of a prewarm checkout.',
        },
        {
          id: 'firewall-spawn',
          label: 'Firewall tool doing nothing',
          rig: 'host-limits',
          cells: {
            mean: measured('host-limits', 'firewall-spawn', {}, 'mean'),
            p50: measured('host-limits', 'firewall-spawn', {}, 'p50'),
            p99: measured('host-limits', 'firewall-spawn', {}, 'p99'),
          },
          note: 'Floor of a policy update that runs the tool.',
        },
        {
          id: 'namespace-rr',
          label: 'TCP round trip between two endpoints on a bridge',
          rig: 'host-limits',
          cells: {
            mean: measured('host-limits', 'namespace-rr', {}, 'mean'),
            p50: measured('host-limits', 'namespace-rr', {}, 'p50'),
            p99: measured('host-limits', 'namespace-rr', {}, 'p99'),
          },
          note: 'Floor of sandbox↔sandbox RTT: sockperf with client and server pinned to different CPUs, as net-rr pins its sandboxes and its paired bare pair ({cell:network.rr-bare-p50.value} in its own run).',
        },
        {
          id: 'checkpoint-write',
          label: 'Write and fsync {given:256 MiB}',
          rig: 'host-limits',
          cells: {
            mean: measured('host-limits', 'checkpoint-write', { size: '256MiB' }, 'mean'),
            p50: measured('host-limits', 'checkpoint-write', { size: '256MiB' }, 'p50'),
            p99: measured('host-limits', 'checkpoint-write', { size: '256MiB' }, 'p99'),
          },
          note: 'Floor of writing a durable checkpoint.',
        },
        {
          id: 'checkpoint-read',
          label: 'Read {given:256 MiB} back',
          rig: 'host-limits',
          cells: {
            mean: measured('host-limits', 'checkpoint-read', { size: '256MiB' }, 'mean'),
            p50: measured('host-limits', 'checkpoint-read', { size: '256MiB' }, 'p50'),
            p99: measured('host-limits', 'checkpoint-read', { size: '256MiB' }, 'p99'),
          },
          note: 'Floor of restoring one from disk; the page cache may be warm.',
        },
      ],
    },
  ],
  notOnThisPage: [
    'A head-to-head against a Linux host running Cilium: the eBPF column is quoted from a publication, and stays that way until someone measures both on comparable hardware.',
    'Full-boot latency at high concurrency on a small host mostly measures thread contention; it is shown as a ceiling, not as a target.',
    'Layer-7 policy (per-request HTTP rules) is not implemented; cubenet filters on addresses and ports only.',
    'Published figures from other systems use their own clocks and hosts. They are context for our numbers, never a ranking.',
    "Anything a rig has not captured on a host is a dash on that host's page, never an estimate carried over from another host.",
  ],
};
