import { defineManifest } from '../../harness/define-manifest.ts';

export const rateLimitManifest = defineManifest({
  id: 'rate-limit',
  title: 'Per-sandbox egress bandwidth limit',
  summary:
    'A sandbox\'s egress is limited to 100 Mbit/s; iperf3 from the sandbox to an external peer measures what it ' +
    'achieves, which must stay within 5% of the configured rate.',
  script: 'packages/rigs/src/rigs/rate-limit/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['nft', 'ip', 'conntrack', 'tc', 'iperf3'] },
    notes: [],
  },
  metrics: [
    {
      name: 'achieved-rate',
      unit: 'Mbit/s',
      description: 'Throughput iperf3 achieved from the rate-limited sandbox in one interval.',
      labels: { configured: ['100'] },
    },
  ],
  checks: ['within-5-percent'],
  clock: 'Draft: iperf3 TCP from the sandbox to the peer, per-interval throughput.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run rate-limit',
  samples: { full: 60, quick: 5 },
});
