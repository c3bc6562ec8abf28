import { defineManifest } from '../../harness/define-manifest.ts';

export const rateLimitManifest = defineManifest({
  id: 'rate-limit',
  title: 'Per-sandbox egress bandwidth limit',
  summary:
    "A sandbox's egress is limited to 100 Mbit/s with cubenet's setRateLimit; iperf3 from the sandbox to an external " +
    'peer (a network namespace the rig creates) measures what gets through: no second above 105 Mbit/s, and the ' +
    'rate over the window within 5% of the configured rate.',
  script: 'packages/rigs/src/rigs/rate-limit/rig.ts',
  platforms: ['linux', 'freebsd'],
  requirements: {
    root: true,
    binaries: {
      linux: ['nft', 'ip', 'conntrack', 'ss', 'sysctl', 'tc', 'iperf3'],
      freebsd: [
        'pfctl',
        'ifconfig',
        'jail',
        'jexec',
        'jls',
        'route',
        'sockstat',
        'kldstat',
        'sysctl',
        'dnctl',
        'iperf3',
      ],
    },
    notes: [
      "Linux: bridge netfilter active, and ifb, tbf, ingress, u32 and mirred in the kernel: cubenet's rate limiter tries them on a scratch pair in preflight.",
      "The limit is cubenet's (`setRateLimit(id, { egressMbit: 100 })`): on Linux the sandbox's host-side ingress redirected to an ifb whose root is tbf; " +
        "on FreeBSD a dummynet pipe (`dnctl pipe N config bw 100Mbit/s`, N = 10000 + the sandbox's host number) and `dnpipe N` on the sandbox anchor's egress passes.",
      "FreeBSD: the same cubenet calls on pf, VNET jails on epairs and `jexec`, through the runtime's openCubenet with dummynet (preflight: pf enabled, its limits, pfil_member, VIMAGE, and `kldload dummynet`), opened with the peer link as its egress interface (`nat on cgxr-h`). The peer is a VNET jail on an epair of its own. This path has run only against the runtime's FreeBSD host model (setup, the pipe and its dnpipe rule, cleanup; the model runs no traffic and its pipes count nothing), never on a FreeBSD host, so no FreeBSD figure exists yet.",
    ],
  },
  metrics: [
    {
      name: 'achieved-rate',
      unit: 'Mbit/s',
      description:
        'What the limit let through from the sandbox in one 1 s interval, in the bytes the limiter counts and ' +
        'configures its rate on (Linux tbf: Ethernet frames; FreeBSD dummynet behind pf: IP packets), while iperf3 saturates it.',
      labels: { configured: ['100'] },
    },
  ],
  checks: ['within-5-percent'],
  clock:
    'A sandbox checked out from cubenet (network namespace + veth on the bridge; on FreeBSD a VNET jail + epair with ' +
    'its pf anchor; policy: allowOut names only the peer) and an external peer (a network namespace on its own veth ' +
    "link to the host; on FreeBSD a VNET jail on an epair of its own; 10.95.3.0/30), reached through cubenet's NAT " +
    "(FreeBSD: pf's `nat on cgxr-h`). First, 2 s of iperf3 without a limit (run.params.unlimitedMbit) show the path carries far " +
    "more than 100 Mbit/s. Then cubenet's setRateLimit(100 Mbit/s): the sandbox's host-side veth redirects its " +
    'ingress (everything the sandbox sends) to an ifb whose root is tbf rate 100mbit (10^8 bit/s), burst 250 000 B ' +
    '(20 ms at the rate), latency 50 ms (run.params.limit holds the qdisc as the kernel reports it). One iperf3 TCP ' +
    'stream from the sandbox to the peer for the measured seconds plus 3 s omitted at the start (slow start, the ' +
    'initially full bucket) and 1 s spare at the end. Each sample is one 1 s interval: the bytes tbf sent (its counter ' +
    'counts an offloaded packet as the frames it becomes) times 8 over the time between two readings, read through ' +
    'one long-lived `tc -s -j -batch -` (no process spawn per reading) and each timed at the midpoint of its round ' +
    'trip. The check "within 5%" passes when all three hold: (1) no 1 s interval above 105 Mbit/s (a token bucket ' +
    'can exceed its rate in an interval only by its 20 ms bucket, 2%); (2) the rate over the measured window (the ' +
    "mean of its equal-length intervals) within 95-105 Mbit/s; (3) iperf3's receiver-side goodput converted to " +
    'frames (× (MSS + 66) / MSS: Ethernet, IPv4 and TCP headers with timestamps) within 95-105 Mbit/s, as an ' +
    'independent observer. Intervals below 95 Mbit/s are counted (run.params.intervalsBelow5Percent) and reported, ' +
    "not judged: on a shared host a second in which the sender was not scheduled is the host's, not the limit's. " +
    'FreeBSD: the limit is dummynet pipe N at 100 Mbit/s (10^8 bit/s of IP packets: pf hands dummynet the IP packet) ' +
    'and the same iperf3 runs through `jexec`. Each sample is the bytes the pipe passed in one interval, from ' +
    "`dnctl pipe show N` (one process per reading, timed at the midpoint of its run): its flow's Tot_pkt/bytes " +
    'count what arrived, before dummynet decides to drop, so passed = arrived − queued − drops × the mean packet size ' +
    "(drops are counted in packets only; a saturating TCP sender's packets are nearly all full-size). Check (3) " +
    'converts goodput to IP packets (× (MSS + 52) / MSS: IPv4 and TCP headers with timestamps).',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run rate-limit',
  samples: { full: 30, quick: 4 },
});
