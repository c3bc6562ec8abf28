import { defineManifest } from '../../harness/define-manifest.ts';

export const extToSandboxManifest = defineManifest({
  id: 'ext-to-sandbox',
  title: 'External client to sandbox: port forward against the direct path',
  summary:
    'TCP round trip from a client outside the host (a network namespace, on FreeBSD a VNET jail, on a link of its own, standing in for a LAN ' +
    'client) to a service in a sandbox, through a cubenet port forward (DNAT) and directly routed: what the forward ' +
    'adds to each round trip.',
  script: 'packages/rigs/src/rigs/ext-to-sandbox/rig.ts',
  platforms: ['linux', 'freebsd'],
  requirements: {
    root: true,
    binaries: {
      linux: ['nft', 'ip', 'conntrack', 'ss', 'sysctl', 'sockperf', 'taskset'],
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
        'cpuset',
        'sockperf',
      ],
    },
    notes: [
      "FreeBSD: the same cubenet calls on pf (an anchor per sandbox; the forward is an rdr-to rule in it), VNET jails on epairs and `jexec`, through the runtime's openCubenet; preflight checks pf enabled, its anchor/table limits, net.link.bridge.pfil_member=1, if_bridge/if_epair/if_tuntap and VIMAGE. This path has run only against the runtime's FreeBSD host model (setup, the pf verdicts of both paths, cleanup; the model runs no traffic), never on a FreeBSD host, so no FreeBSD figure exists yet.",
      'Linux: bridge netfilter active (net.bridge.bridge-nf-call-iptables/ip6tables = 1): checked in preflight.',
      "IPv4 only: the forward is the same DNAT map for IPv6, and Debian 12's sockperf 3.7 has no IPv6.",
    ],
  },
  metrics: [
    {
      name: 'rtt',
      unit: 'us',
      description:
        'One TCP request/response round trip (14-byte messages, one in flight) from the external peer to the sandbox service.',
      labels: { path: ['forward', 'direct'] },
    },
  ],
  checks: [],
  clock:
    'A sandbox checked out from cubenet (network namespace + veth on the bridge; on FreeBSD a VNET jail + epair with ' +
    'its pf anchor) with a port forward tcp 18080 → 11111 and a sockperf server on its address, port 11111. The ' +
    'external peer is a network namespace joined to the host by its own veth link (on FreeBSD a VNET jail cgxf-peer ' +
    'on an epair of its own, ends renamed cgxf-h and cgxf-p; 10.95.1.0/30), not on the sandbox bridge, routing the ' +
    'sandbox subnet via the host (`ip route add` / `route add -inet -net` inside the peer). ' +
    "forward: sockperf ping-pong from the peer to the host's address on that link, port 18080, DNAT'd by cubenet to " +
    "the sandbox. direct: the same client to the sandbox's own address, port 11111, routed by the host; cubenet's " +
    'isolation drops new inbound connections, so the rig inserts one accept (peer link, sandbox address, port, ' +
    "ct state new) into cubenet's forward chain just before its final drop, where a forwarded connection meets " +
    '`ct status dnat accept`; established packets of both paths are accepted by the same earlier rule. On FreeBSD ' +
    "the forward is pf's `pass in … to self port 18080 rdr-to SANDBOX port 11111` in the sandbox's anchor, and " +
    "cubenet's anchor passes out to the sandbox only packets carrying its pass tag; so the rig loads an anchor of its " +
    'own, cube/cgxf-direct (evaluated by the root hook\'s `anchor "cube/*"` like the sandbox anchors), with one rule ' +
    '`pass in quick on cgxf-h inet proto tcp from PEER to SANDBOX port 11111 keep state tag cgf_pass`, which tags ' +
    "a direct connection as the forward's rdr-to rule tags a forwarded one, and after the run checks that its " +
    'State Creations counter (`pfctl -a cube/cgxf-direct -v -s rules`) equals the direct segments, as the nft ' +
    'counter is checked on Linux. Each sample ' +
    "is one transaction's round trip from sockperf's --full-log (client send to reply received, 14-byte messages, " +
    "one in flight, one TCP connection per segment, after sockperf's 400 ms warm-up), with the client pinned to CPU 0 " +
    'and the server to CPU 1 (`taskset`; FreeBSD `cpuset -l`; run.params.placement), as in net-rr and host-limits. Segments alternate A B B A ' +
    "(forward, direct, direct, forward) so host drift weighs on both paths; each path's transactions are pooled and " +
    'evenly subsampled to at most the count in run.params.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run ext-to-sandbox',
  samples: { full: 10000, quick: 500 },
});
