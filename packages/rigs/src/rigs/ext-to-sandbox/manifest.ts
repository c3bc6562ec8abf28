import { defineManifest } from '../../harness/define-manifest.ts';

export const extToSandboxManifest = defineManifest({
  id: 'ext-to-sandbox',
  title: 'External client to sandbox: port forward against the direct path',
  summary:
    'TCP round trip from a client outside the host (a network namespace on its own link) to a service in a ' +
    'sandbox, through a port forward (DNAT) and directly routed: the cost of the forward.',
  script: 'packages/rigs/src/rigs/ext-to-sandbox/rig.ts',
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
      description: 'One TCP request/response round trip from the external peer to the sandbox service.',
      labels: { path: ['forward', 'direct'] },
    },
  ],
  checks: [],
  clock: 'Draft: sockperf TCP ping-pong, per-transaction round trips from --full-log.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run ext-to-sandbox',
  samples: { full: 10000, quick: 500 },
});
