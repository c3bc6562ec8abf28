import { defineManifest } from '../../harness/define-manifest.ts';

/** Checkpoint samples are fewer than the latency floors': see `samples` below and the clock text. */
export const CHECKPOINT_SAMPLES = { full: 100, quick: 2 } as const;

export const hostLimitsManifest = defineManifest({
  id: 'host-limits',
  title: 'Host limits: the floors',
  summary:
    'The physical floors the runtime is judged against, measured on the same host in one run: resuming a ' +
    "SIGSTOP'd process, spawning the firewall tool, a TCP round trip between two sandboxes' network stacks on a " +
    'bridge, and writing and reading back a 256 MiB checkpoint-sized file.',
  script: 'packages/rigs/src/rigs/host-limits/rig.ts',
  platforms: ['linux', 'freebsd'],
  requirements: {
    root: true,
    binaries: {
      linux: ['cat', 'nft', 'ip', 'ss', 'taskset', 'sockperf', 'dd', 'df'],
      freebsd: [
        'cat',
        'ps',
        'pfctl',
        'sysctl',
        'ifconfig',
        'jail',
        'jexec',
        'jls',
        'sockstat',
        'cpuset',
        'sockperf',
        'df',
      ],
    },
    notes: [
      'Linux: `nft list tables` must succeed (nftables in the kernel) and network namespaces must be available.',
      'FreeBSD: pf loaded (`pfctl -s info` succeeds) and a VNET kernel (kern.features.vimage=1).',
      'The 256 MiB file is written under COPPICE_CHECKPOINT_DIR if set (put it where the durable pool keeps its ' +
        'checkpoints), else the run’s temporary folder (under TMPDIR); its file-system type is recorded in run.params.',
    ],
  },
  metrics: [
    {
      name: 'sigcont-resume',
      unit: 'ms',
      description:
        "A SIGSTOP'd child process resumed with SIGCONT until it answers on a pipe: the floor of a prewarm resume.",
      labels: {},
    },
    {
      name: 'firewall-spawn',
      unit: 'ms',
      description:
        'Spawning the firewall tool to do nothing (`nft list tables` on Linux, `pfctl -s info` on FreeBSD): the floor of a policy update.',
      labels: {},
    },
    {
      name: 'namespace-rr',
      unit: 'us',
      description:
        'TCP request/response round trip between two network namespaces (Linux) or two VNET jails (FreeBSD) on a bridge, sockperf ping-pong, client and server pinned to different CPUs: the floor of sandbox RTT.',
      labels: {},
    },
    {
      name: 'checkpoint-write',
      unit: 'ms',
      description: 'Writing and fsyncing a new 256 MiB file: the floor of a durable checkpoint.',
      labels: { size: ['256MiB'] },
    },
    {
      name: 'checkpoint-read',
      unit: 'ms',
      description:
        "Reading that file back with its pages dropped from the page cache first: the floor of a durable restore's read.",
      labels: { size: ['256MiB'] },
    },
  ],
  clock:
    'sigcont-resume: from just before kill(SIGCONT) on a stopped `cat` child (confirmed stopped by the kernel first) ' +
    'until one byte written to its stdin right after the signal is read back from its stdout, in the Node.js harness ' +
    '(includes one event-loop turn). firewall-spawn: from just before the spawn of `nft list tables` / `pfctl -s info` ' +
    "until the harness has seen it exit (through the runtime's command runner, the path a policy update takes). " +
    'namespace-rr: sockperf ping-pong over TCP (--full-rtt), 14-byte messages, one in flight, back to back, for ' +
    'namespaceRrSeconds; the client is pinned to CPU 0 and the server to CPU 1 (`taskset -c` inside the namespace, ' +
    '`cpuset -l` inside the jail; both on CPU 0 on a one-CPU host; the placement is in run.params), the way net-rr ' +
    'pins its sandboxes, because on a small VM where the scheduler puts the two ends changes this round trip more ' +
    'than anything else does. No firewall policy of its own, though bridge netfilter hooks still see the traffic. ' +
    "Each sample is one transaction's round trip as sockperf's --full-log records it (client send to reply " +
    "received), after sockperf's own 400 ms warm-up; the log is evenly subsampled to at most the count in " +
    'run.params. checkpoint-write: from ' +
    'just before opening a new file until fsync and close return, 256 MiB of random bytes. checkpoint-read: the ' +
    "file's cached pages are dropped first (Linux: posix_fadvise DONTNEED on that file via `dd iflag=nocache`, not a " +
    'global drop_caches; FreeBSD: the file is read with O_DIRECT), then from just before open until the last byte is ' +
    'read and the file closed, in 8 MiB reads; so it measures the storage path, not a memory copy. ' +
    `Checkpoint samples: ${CHECKPOINT_SAMPLES.full} (quick ${CHECKPOINT_SAMPLES.quick}) instead of 200, because each ` +
    'sample moves 512 MiB through the disk (about a second on a 2-core cloud VM): 200 would take the full run past ' +
    'three minutes and write 50 GiB, while 100 still meets the 100-sample threshold for a reliable p99.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run host-limits',
  samples: { full: 200, quick: 5 },
});
