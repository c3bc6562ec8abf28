import { defineManifest } from '../../harness/define-manifest.ts';

export const rateLimitManifest = defineManifest({
  id: 'rate-limit',
  title: 'Per-sandbox egress bandwidth limit',
  summary:
    'A sandbox\'s egress is limited to 100 Mbit/s; iperf3 from the sandbox to an external peer (a network namespace ' +
    'the rig creates) measures what gets through, which must stay within 5% of the configured rate.',
  script: 'packages/rigs/src/rigs/rate-limit/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['nft', 'ip', 'conntrack', 'ss', 'sysctl', 'tc', 'iperf3'] },
    notes: [
      'Bridge netfilter active (checked in preflight), and ifb, tbf, u32 and mirred in the kernel (preflight tries them).',
      'Linux: the limit is the rig\'s (tc), because cubenet has no rate-limit primitive yet. FreeBSD (not wired yet): dummynet, `dnctl pipe N config bw 100Mbit/s` and `dnpipe N` on the sandbox anchor\'s pass rules.',
    ],
  },
  metrics: [
    {
      name: 'achieved-rate',
      unit: 'Mbit/s',
      description:
        'What the limit let through from the sandbox in one 1 s interval, in Ethernet frames (headers included, as ' +
        'the rate is configured), while iperf3 saturates it.',
      labels: { configured: ['100'] },
    },
  ],
  checks: ['within-5-percent'],
  clock:
    'A sandbox checked out from cubenet (network namespace + veth on the bridge; policy: allowOut names only the ' +
    'peer) and an external peer (a network namespace on its own veth link to the host, 10.95.3.0/30), reached ' +
    'through cubenet\'s NAT. First, 2 s of iperf3 without a limit (run.params.unlimitedMbit) show the path carries far ' +
    'more than 100 Mbit/s. Then the limit: the sandbox\'s host-side veth redirects its ingress (everything the ' +
    'sandbox sends) to an ifb whose root is tbf rate 100mbit (10^8 bit/s), burst 250 000 B (20 ms at the rate: on a ' +
    'loaded 2-vCPU VM the qdisc timer fires milliseconds late and a 32 KB bucket lost tokens, delivering 87-93 ' +
    'Mbit/s in trials), latency 50 ms. One iperf3 TCP stream from the sandbox to the peer for the measured seconds ' +
    'plus 3 s omitted at the start (slow start, the initially full bucket) and 1 s spare at the end. Each sample is ' +
    'one 1 s interval: the bytes tbf sent (its counter counts an offloaded packet as the frames it becomes) times 8 ' +
    'over the time between two readings, read through one long-lived `tc -s -j -batch -` (no process spawn per ' +
    'reading) and each timed at the midpoint of its round trip. ' +
    'The check: the rate over the measured window (the mean of the intervals) within ±5% of 100, and, as an ' +
    'independent observer, iperf3\'s ' +
    'receiver-side goodput converted to frames (× (MSS + 66) / MSS: Ethernet, IPv4 and TCP headers with timestamps) ' +
    'within ±5% too; both figures are in run.params and the check\'s detail, which also counts the single ' +
    'intervals outside ±5% (reported, not judged: on a shared host a second in which the sender was not scheduled ' +
    'is the host\'s, not the limit\'s).',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run rate-limit',
  samples: { full: 30, quick: 4 },
});
