import { defineManifest } from '../../harness/define-manifest.ts';

export const netRrManifest = defineManifest({
  id: 'net-rr',
  title: 'Sandbox-to-sandbox TCP round trip',
  summary:
    'TCP request/response round trip between two sandboxes on the bridge with their policies loaded (each allows ' +
    'the other among 200 other entries), IPv4 and IPv6, interleaved in the same run with the same exchange between ' +
    'two bare network stacks (the paired floor), client and server pinned to different CPUs; every transaction recorded.',
  script: 'packages/rigs/src/rigs/net-rr/rig.ts',
  platforms: ['linux', 'freebsd'],
  requirements: {
    root: true,
    binaries: {
      linux: ['nft', 'ip', 'conntrack', 'ss', 'taskset', 'sockperf', 'cc'],
      freebsd: [
        'pfctl',
        'ifconfig',
        'jail',
        'jexec',
        'jls',
        'sockstat',
        'kldstat',
        'sysctl',
        'cpuset',
        'sockperf',
        'cc',
      ],
    },
    notes: [
      "FreeBSD: the same cubenet calls on pf (an anchor per sandbox), VNET jails on epairs and `jexec`, through the runtime's openCubenet; preflight checks pf enabled, its anchor/table limits, net.link.bridge.pfil_member=1, if_bridge/if_epair/if_tuntap and VIMAGE. This path has run only against the runtime's FreeBSD host model (cubenet level), never on a FreeBSD host, so no FreeBSD figure exists yet.",
      "Bridge netfilter active (checked in preflight): the traffic crosses the firewall's forward hook.",
      "IPv6 uses tcp-rr (C source beside the rig, compiled for the run) because Debian 12's sockperf 3.7 has no IPv6.",
    ],
  },
  metrics: [
    {
      name: 'rtt',
      unit: 'us',
      description:
        'One TCP request/response round trip (14-byte messages, one in flight) between two sandboxes, client and server on different CPUs.',
      labels: { family: ['ipv4', 'ipv6'] },
    },
    {
      name: 'bare-rtt',
      unit: 'us',
      description:
        'The same round trip between two bare network stacks on a bridge of their own (no cubenet, no policy), same tool and CPUs, in blocks interleaved with rtt: its paired floor.',
      labels: { family: ['ipv4', 'ipv6'] },
    },
    {
      name: 'same-cpu-rtt',
      unit: 'us',
      description:
        'The IPv4 round trip with client and server both on CPU 0, for the sandboxes and the bare pair (recorded on hosts with 2+ CPUs).',
      labels: { path: ['sandbox', 'bare'] },
    },
  ],
  checks: [],
  clock:
    'Two sandboxes checked out from cubenet (network namespaces with a veth on the bridge and nft policy loaded; on ' +
    'FreeBSD VNET jails with an epair and pf anchors; each ' +
    "allows the other's address among 100 allowOut and 100 denyOut entries of documentation ranges), and a bare " +
    'pair made as host-limits makes its namespace-rr pair (two namespaces / VNET jails on a bridge of their own, ' +
    '10.123.0.0/24 and fd7b::/64, no cubenet objects and no policy; bridge netfilter hooks see both paths). The ' +
    'client runs in A and the server in B, the client pinned to CPU 0 and the server to CPU 1 (`taskset -c` inside ' +
    'the namespace, `cpuset -l` inside the jail; both on CPU 0 on a one-CPU host), the same placement host-limits ' +
    'uses, because on a small VM where the scheduler puts the two ends moves this round trip more than the path ' +
    'does. Per family, roundsPerFamily rounds of two client runs of secondsPerBlock each alternate between the ' +
    'sandbox path and the bare path in A B B A order (blockOrder in run.params), both servers up throughout, so ' +
    "drift of the host falls on both alike; each block's path, transaction count and p50 are in run.params " +
    '(ipv4Blocks, ipv6Blocks, sameCpuBlocks), so a block hit by a burst of other load shows. ipv4: sockperf ' +
    'ping-pong over TCP (--full-rtt), 14-byte messages, one in flight, back to back; ' +
    "each sample is one transaction's round trip from sockperf's --full-log (send to reply received), after " +
    "sockperf's 400 ms warm-up in every block. ipv6: the same exchange with tcp-rr (clock_gettime(CLOCK_MONOTONIC) " +
    'before the write and after the read of each transaction, 0.4 s warm-up unrecorded in every block). ' +
    'same-cpu-rtt: the ipv4 exchange again with both ends on CPU 0, sandbox and bare in A B B A blocks (4 blocks, ' +
    'quick 2). ' +
    "Each path's blocks are concatenated and evenly subsampled to at most maxSamplesPerSeries (the transaction " +
    'counts are in run.params); the IPv4 sandbox round trip measured with tcp-rr too (cross-CPU, 3 s, quick 1 s) is ' +
    'kept in run.params as a cross-check of the two tools.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run net-rr',
  samples: { full: 10000, quick: 500 },
});
