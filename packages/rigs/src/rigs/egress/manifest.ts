import { defineManifest } from '../../harness/define-manifest.ts';

export const egressManifest = defineManifest({
  id: 'egress',
  title: 'Sandbox egress through the NAT against the host directly',
  summary:
    'TCP round trip from a sandbox to an external peer (a network namespace the rig creates) through the NAT, ' +
    'against the host to the same peer directly, IPv4 and IPv6.',
  script: 'packages/rigs/src/rigs/egress/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['nft', 'ip', 'conntrack', 'ss', 'sockperf'] },
    notes: [],
  },
  metrics: [
    {
      name: 'rtt',
      unit: 'us',
      description: 'One TCP request/response round trip to the external peer.',
      labels: { family: ['ipv4', 'ipv6'], path: ['nat', 'direct'] },
    },
  ],
  checks: [],
  clock: 'Draft: TCP ping-pong, per-transaction round trips.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run egress',
  samples: { full: 10000, quick: 500 },
});
