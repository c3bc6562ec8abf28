import { defineManifest } from '../../harness/define-manifest.ts';

export const netRrManifest = defineManifest({
  id: 'net-rr',
  title: 'Sandbox-to-sandbox TCP round trip',
  summary:
    'TCP request/response round trip between two sandboxes on the bridge with their policies loaded (each allows ' +
    'the other among 200 other entries), IPv4 and IPv6; every transaction recorded.',
  script: 'packages/rigs/src/rigs/net-rr/rig.ts',
  platforms: ['linux', 'freebsd'],
  requirements: {
    root: true,
    binaries: { linux: ['nft', 'ip', 'conntrack', 'ss', 'sockperf', 'cc'], freebsd: ['pfctl', 'ifconfig', 'jail', 'jexec', 'jls', 'sockstat', 'kldstat', 'sysctl', 'sockperf', 'cc'] },
    notes: [
      'FreeBSD: the same cubenet calls on pf (an anchor per sandbox), VNET jails on epairs and `jexec`, through the runtime\'s openCubenet; preflight checks pf enabled, its anchor/table limits, net.link.bridge.pfil_member=1, if_bridge/if_epair/if_tuntap and VIMAGE. This path has run only against the runtime\'s FreeBSD host model (cubenet level), never on a FreeBSD host, so no FreeBSD figure exists yet.',
      'Bridge netfilter active (checked in preflight): the traffic crosses the firewall\'s forward hook.',
      'IPv6 uses tcp-rr (C source beside the rig, compiled for the run) because Debian 12\'s sockperf 3.7 has no IPv6.',
    ],
  },
  metrics: [
    {
      name: 'rtt',
      unit: 'us',
      description: 'One TCP request/response round trip (14-byte messages, one in flight) between two sandboxes.',
      labels: { family: ['ipv4', 'ipv6'] },
    },
  ],
  checks: [],
  clock:
    'Two sandboxes checked out from cubenet (network namespaces with a veth on the bridge and nft policy loaded; on ' +
    'FreeBSD VNET jails with an epair and pf anchors; each ' +
    "allows the other's address among 100 allowOut and 100 denyOut entries of documentation ranges). ipv4: sockperf " +
    'ping-pong over TCP from sandbox A to a sockperf server in B, 14-byte messages, one in flight, back to back; each ' +
    "sample is one transaction's round trip from sockperf's --full-log (send to reply received), after sockperf's " +
    '400 ms warm-up. ipv6: the same exchange with tcp-rr (clock_gettime(CLOCK_MONOTONIC) before the write and after ' +
    'the read of each transaction, 0.4 s warm-up unrecorded). Each log is evenly subsampled to at most the count in ' +
    'run.params; the IPv4 round trip measured with tcp-rr too is kept in run.params as a cross-check of the two tools.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run net-rr',
  samples: { full: 10000, quick: 500 },
});
