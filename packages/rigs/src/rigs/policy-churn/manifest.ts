import { defineManifest } from '../../harness/define-manifest.ts';

export const policyChurnManifest = defineManifest({
  id: 'policy-churn',
  title: 'Policy load time as the number of sandboxes grows',
  summary:
    'Time to load one sandbox\'s whole policy (one firewall transaction) while N sandboxes already have theirs ' +
    'loaded, for N = 10, 100 and 1 000: whether the per-sandbox cost stays flat as the ruleset grows.',
  script: 'packages/rigs/src/rigs/policy-churn/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['nft', 'ip', 'conntrack'] },
    notes: ['Preflight checks the kernel limit the firewall needs for 1 000 sandboxes (pf: `set limit anchors`).'],
  },
  metrics: [
    {
      name: 'load-latency',
      unit: 'ms',
      description: 'One sandbox policy loaded in one firewall transaction while n sandboxes hold policies.',
      labels: { n: ['10', '100', '1000'] },
    },
  ],
  checks: [],
  clock: 'Draft: from just before cubenet.setPolicy() until it returns.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run policy-churn',
  samples: { full: 200, quick: 20 },
});
