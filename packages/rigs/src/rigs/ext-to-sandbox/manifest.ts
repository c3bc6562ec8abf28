import { defineManifest } from '../../harness/define-manifest.ts';

export const extToSandboxManifest = defineManifest({
  id: 'ext-to-sandbox',
  title: 'External client to sandbox: port forward against the direct path',
  summary:
    'TCP round trip from a client outside the host (a network namespace on a link of its own, standing in for a LAN ' +
    'client) to a service in a sandbox, through a cubenet port forward (DNAT) and directly routed: what the forward ' +
    'adds to each round trip.',
  script: 'packages/rigs/src/rigs/ext-to-sandbox/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['nft', 'ip', 'conntrack', 'ss', 'sysctl', 'sockperf', 'taskset'] },
    notes: [
      'Bridge netfilter active (net.bridge.bridge-nf-call-iptables/ip6tables = 1): checked in preflight.',
      'IPv4 only: the forward is the same DNAT map for IPv6, and Debian 12\'s sockperf 3.7 has no IPv6.',
    ],
  },
  metrics: [
    {
      name: 'rtt',
      unit: 'us',
      description: 'One TCP request/response round trip (14-byte messages, one in flight) from the external peer to the sandbox service.',
      labels: { path: ['forward', 'direct'] },
    },
  ],
  checks: [],
  clock:
    'A sandbox checked out from cubenet (network namespace + veth on the bridge) with a port forward tcp 18080 → ' +
    '11111 and a sockperf server on its address, port 11111. The external peer is a network namespace joined to the ' +
    'host by its own veth link (10.95.1.0/30), not on the sandbox bridge, routing the sandbox subnet via the host. ' +
    'forward: sockperf ping-pong from the peer to the host\'s address on that link, port 18080, DNAT\'d by cubenet to ' +
    'the sandbox. direct: the same client to the sandbox\'s own address, port 11111, routed by the host; cubenet\'s ' +
    'isolation drops new inbound connections, so the rig inserts one accept (peer link, sandbox address, port, ' +
    'ct state new) into cubenet\'s forward chain just before its final drop, where a forwarded connection meets ' +
    '`ct status dnat accept`; established packets of both paths are accepted by the same earlier rule. Each sample ' +
    'is one transaction\'s round trip from sockperf\'s --full-log (client send to reply received, 14-byte messages, ' +
    'one in flight, one TCP connection per segment, after sockperf\'s 400 ms warm-up), with the client pinned to CPU 0 ' +
    'and the server to CPU 1 (`taskset`; run.params.placement), as in net-rr and host-limits. Segments alternate A B B A ' +
    '(forward, direct, direct, forward) so host drift weighs on both paths; each path\'s transactions are pooled and ' +
    'evenly subsampled to at most the count in run.params.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run ext-to-sandbox',
  samples: { full: 10000, quick: 500 },
});
