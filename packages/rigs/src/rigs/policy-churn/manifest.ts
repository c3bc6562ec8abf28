import { defineManifest } from '../../harness/define-manifest.ts';

export const policyChurnManifest = defineManifest({
  id: 'policy-churn',
  title: 'Policy load time as the number of sandboxes grows',
  summary:
    'Time to load one sandbox\'s whole policy (one firewall transaction) while n sandboxes hold theirs, for n = 10, ' +
    '100 and 1 000: whether a policy load stays cheap as the ruleset grows to a thousand sandboxes.',
  script: 'packages/rigs/src/rigs/policy-churn/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['nft', 'ip', 'conntrack'] },
    notes: [
      'Bridge netfilter active (checked in preflight).',
      'Run it alone: while 1 000 sandboxes\' rules are loaded, every nft command on the host (other rigs\' too, and ' +
        'the harness\'s own `nft list tables`) takes seconds, because nft reads the whole ruleset first.',
      'Preflight checks the kernel limit the firewall needs at N = 1 000: pf (FreeBSD) `set limit anchors` ≥ N + 1 and ' +
        'table-entries; nftables (Linux) has no count limit on chains, sets or map elements (kernel memory bounds ' +
        'them), and what bounds N on Linux is the bridge: at most 1 023 ports, one per sandbox.',
    ],
  },
  metrics: [
    {
      name: 'load-latency',
      unit: 'ms',
      description: 'One sandbox\'s whole policy loaded (one firewall transaction) while n sandboxes hold policies.',
      labels: { n: ['10', '100', '1000'] },
    },
  ],
  checks: [],
  clock:
    'cubenet (nftables through its persistent `nft -i`) with 1 000 tap endpoints made first (what a VM sandbox has; ' +
    'outside any clock). The population grows to n = 10, then 100, then 1 000 sandboxes, each checked out with its ' +
    'own policy (a chain, six sets, verdict-map and anti-spoof entries each). At each n, every sample is one ' +
    '`cubenet.setPolicy()` on a resident sandbox (spread over all n by a stride coprime to n), from just before the ' +
    'call until it returns: the whole policy (12 allowOut, 4 denyOut, 2 dnsAllow entries, v4 and v6, addresses ' +
    'and CIDRs from documentation ranges, different from the sandbox\'s previous one, internet access flipping) ' +
    'replaced in one nft transaction (sets flushed and refilled, chain flushed and rewritten), the state file ' +
    'written, and the connection table read to kill the sandbox\'s states since access was withdrawn. Unrecorded ' +
    'warm-up loads first at each n (count in run.params). After the last level, an audit must find the kernel and ' +
    'cubenet in agreement with 1 000 chains.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run policy-churn',
  samples: { full: 200, quick: 20 },
});
