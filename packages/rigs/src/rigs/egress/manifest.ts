import { defineManifest } from '../../harness/define-manifest.ts';

export const egressManifest = defineManifest({
  id: 'egress',
  title: 'Sandbox egress through the NAT against the host directly',
  summary:
    "TCP round trip from a sandbox to an external peer through cubenet's NAT (masquerade), against the host to the " +
    'same peer directly, IPv4 and IPv6. The peer is a network namespace (FreeBSD: a VNET jail) the rig creates on a ' +
    'link of its own; no traffic leaves the host.',
  script: 'packages/rigs/src/rigs/egress/rig.ts',
  platforms: ['linux', 'freebsd'],
  requirements: {
    root: true,
    binaries: {
      linux: ['nft', 'ip', 'conntrack', 'sysctl', 'cc'],
      freebsd: ['pfctl', 'ifconfig', 'jail', 'jexec', 'jls', 'route', 'sockstat', 'kldstat', 'sysctl', 'cc'],
    },
    notes: [
      "FreeBSD: the same cubenet calls on pf (an anchor per sandbox), VNET jails on epairs and `jexec`, through the runtime's openCubenet, opened with the peer link as its egress interface so the root hook holds `nat on cgxe-h … -> (cgxe-h)`; preflight checks pf enabled, its anchor/table limits, net.link.bridge.pfil_member=1, if_bridge/if_epair/if_tuntap and VIMAGE. This path has run only against the runtime's FreeBSD host model (setup, routes and cleanup; the model runs no traffic), never on a FreeBSD host, so no FreeBSD figure exists yet.",
      'Linux: bridge netfilter active (net.bridge.bridge-nf-call-iptables/ip6tables = 1): checked in preflight.',
      "Both families use tcp-rr (lib/rr/tcp-rr.c, compiled for the run) because Debian 12's sockperf 3.7 has no IPv6; one tool for all four cells keeps them comparable.",
    ],
  },
  metrics: [
    {
      name: 'rtt',
      unit: 'us',
      description: 'One TCP request/response round trip (14-byte messages, one in flight) to the external peer.',
      labels: { family: ['ipv4', 'ipv6'], path: ['nat', 'direct'] },
    },
  ],
  checks: [],
  clock:
    'A sandbox checked out from cubenet (network namespace + veth on the bridge; on FreeBSD a VNET jail + epair with ' +
    "its pf anchor; policy: allowOut names only the peer's two addresses) and an external peer (a network namespace " +
    'on its own veth link to the host; on FreeBSD a VNET jail cgxe-peer on an epair of its own, ends renamed cgxe-h ' +
    'and cgxe-p; 10.95.2.0/30 and fd95:2::/64, with no route back to the sandbox subnet, checked with `ip route get` ' +
    '/ `route -n get` in the peer, so a reply can only come back through the NAT). nat: a tcp-rr client in the ' +
    "sandbox (`ip netns exec` / `jexec`) to a tcp-rr server in the peer, through the bridge, the firewall's forward " +
    "hook and the masquerade to the host's address on the peer link (FreeBSD: pf's `nat on cgxe-h from the " +
    "sandbox subnets -> (cgxe-h)`). direct: the same client run on the host to the same server. Each transaction's round trip is clock_gettime(CLOCK_MONOTONIC) before the " +
    'write to after the read of one 14-byte message, on one TCP connection per segment after 0.4 s unrecorded. ' +
    'Segments alternate A B B A (nat, direct, direct, nat) per family so host drift weighs on both paths; each ' +
    "path's transactions are pooled and evenly subsampled to at most the count in run.params.",
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run egress',
  samples: { full: 10000, quick: 500 },
});
