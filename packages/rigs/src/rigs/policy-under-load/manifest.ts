import { defineManifest } from '../../harness/define-manifest.ts';

export const policyUnderLoadManifest = defineManifest({
  id: 'policy-under-load',
  title: 'Sandbox RTT while policies are mutated under load',
  summary:
    'Sandbox-to-sandbox TCP round trip while a saturating iperf3 stream crosses the same bridge, with policies left ' +
    'alone ("idle") and with policies replaced back to back ("mutating").',
  script: 'packages/rigs/src/rigs/policy-under-load/rig.ts',
  platforms: ['linux', 'freebsd'],
  requirements: {
    root: true,
    binaries: {
      linux: ['nft', 'ip', 'conntrack', 'ss', 'sockperf', 'iperf3'],
      freebsd: ['pfctl', 'ifconfig', 'jail', 'jexec', 'jls', 'sockstat', 'kldstat', 'sysctl', 'sockperf', 'iperf3'],
    },
    notes: [
      'Linux: bridge netfilter active (checked in preflight).',
      "FreeBSD: the same cubenet calls on pf (an anchor per sandbox, allowOut a pf table in it), VNET jails on epairs and `jexec`, through the runtime's openCubenet; preflight checks pf enabled, its anchor/table limits, net.link.bridge.pfil_member=1, if_bridge/if_epair/if_tuntap and VIMAGE. This path has run only against the runtime's FreeBSD host model (the four sandboxes, their policies and a mutation round, cleanup; the model runs no traffic), never on a FreeBSD host, so no FreeBSD figure exists yet.",
    ],
  },
  metrics: [
    {
      name: 'rtt',
      unit: 'us',
      description: 'One TCP request/response round trip between sandboxes A and B (sockperf ping-pong, IPv4).',
      labels: { condition: ['idle', 'mutating'] },
    },
    {
      name: 'mutation-rate',
      unit: '1/s',
      description:
        'Policy replacements completed per second during one mutating slice (back to back, while the RTT is measured).',
      labels: {},
    },
  ],
  checks: [],
  clock:
    'Four sandboxes (network namespaces + veth on the bridge; on FreeBSD VNET jails + epair with pf anchors; tools ' +
    'run inside them through `ip netns exec` / `jexec`, placed by the scheduler): a one-stream iperf3 TCP flow from ' +
    'C to D runs for the whole measurement (saturating, both ' +
    'conditions). The RTT is sockperf ping-pong over TCP from A to B, 14-byte messages, one in flight; each sample ' +
    "is one transaction's round trip from sockperf's --full-log. idle: no policy changes. mutating: for the whole " +
    "ping-pong, A's, B's, C's and D's allowOut lists are replaced back to back (each a 100-address list that keeps " +
    "the flows allowed, one kernel transaction each, through cubenet's netlink helper when it is built; on FreeBSD one `pfctl -a ANCHOR -t sandbox_allow -T replace -f -` " +
    'each, after which cubenet reads the states once (`pfctl -ss`) to kill any towards a withdrawn address; the ' +
    'number done is in run.params). mutation-rate: one sample per mutating slice, the replacements that completed ' +
    "in it divided by its duration (from the mutator's start until the ping-pong ended and the last replacement " +
    'returned). Conditions alternate idle, ' +
    'mutating, idle, mutating in equal slices; each log is evenly subsampled to at most the count in run.params.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run policy-under-load',
  samples: { full: 10000, quick: 500 },
});
