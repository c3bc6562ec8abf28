import { defineManifest } from '../../harness/define-manifest.ts';

export const policyUnderLoadManifest = defineManifest({
  id: 'policy-under-load',
  title: 'Sandbox RTT while policies are mutated under load',
  summary:
    'Sandbox-to-sandbox TCP round trip while a saturating iperf3 stream crosses the same bridge, with policies left ' +
    'alone ("idle") and with policies replaced back to back ("mutating").',
  script: 'packages/rigs/src/rigs/policy-under-load/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['nft', 'ip', 'conntrack', 'ss', 'sockperf', 'iperf3'] },
    notes: ['Bridge netfilter active (checked in preflight).'],
  },
  metrics: [
    {
      name: 'rtt',
      unit: 'us',
      description: 'One TCP request/response round trip between sandboxes A and B (sockperf ping-pong, IPv4).',
      labels: { condition: ['idle', 'mutating'] },
    },
  ],
  checks: [],
  clock:
    'Four sandboxes: a one-stream iperf3 TCP flow from C to D runs for the whole measurement (saturating, both ' +
    'conditions). The RTT is sockperf ping-pong over TCP from A to B, 14-byte messages, one in flight; each sample ' +
    "is one transaction's round trip from sockperf's --full-log. idle: no policy changes. mutating: for the whole " +
    "ping-pong, A's, B's, C's and D's allowOut lists are replaced back to back (each a 100-address list that keeps " +
    'the flows allowed, one nft transaction each; the number done is in run.params). Conditions alternate idle, ' +
    'mutating, idle, mutating in equal slices; each log is evenly subsampled to at most the count in run.params.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run policy-under-load',
  samples: { full: 10000, quick: 500 },
});
