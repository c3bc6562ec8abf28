import { defineManifest } from '../../harness/define-manifest.ts';

export const policyChurnManifest = defineManifest({
  id: 'policy-churn',
  title: 'Policy load time as the number of sandboxes grows',
  summary:
    "Time to load one sandbox's whole policy (one firewall transaction) while n sandboxes hold theirs, for n = 10, " +
    '100 and 1 000: whether a policy load stays cheap as the ruleset grows to a thousand sandboxes.',
  script: 'packages/rigs/src/rigs/policy-churn/rig.ts',
  platforms: ['linux', 'freebsd'],
  requirements: {
    root: true,
    binaries: { linux: ['nft', 'ip', 'conntrack'], freebsd: ['pfctl', 'sysctl'] },
    notes: [
      "FreeBSD: the same backend calls on cubenet's pf backend (PfFirewall, an anchor per sandbox); preflight checks pf enabled, `set limit anchors` and table-entries for N, and net.link.bridge.pfil_member=1. This path has run only against the runtime's FreeBSD host model, never on a FreeBSD host, so no FreeBSD figure exists yet.",
      'Bridge netfilter active (checked in preflight).',
      "Run it alone: while 1 000 sandboxes' rules are loaded, commands that list the ruleset (`nft list ...`, other " +
        "rigs' audits) read every element and slow down.",
      'Preflight checks the kernel limit the firewall needs at N = 1 000: pf (FreeBSD) `set limit anchors` ≥ N + 1 and ' +
        'table-entries; nftables (Linux) has no count limit on chains, sets or map elements (kernel memory bounds ' +
        'them), and what bounds N on Linux is the bridge: at most 1 023 ports, one per sandbox.',
    ],
  },
  metrics: [
    {
      name: 'load-latency',
      unit: 'ms',
      description: "One sandbox's whole policy loaded (one firewall transaction) while n sandboxes hold policies.",
      labels: { n: ['10', '100', '1000'] },
    },
  ],
  checks: [],
  clock:
    "cubenet's firewall backend (Linux: NftablesFirewall as cubenet opens it, whole-policy loads through its long-lived " +
    'netlink helper native/nft-set-elements, run.params.firewall.loads says whether it was built, else through its ' +
    'persistent `nft -i`; FreeBSD: see below) driven directly, without ' +
    'endpoints (a policy load touches none). The population grows to n = 10, then 100, then 1 000 sandboxes; each ' +
    'is added as the backend renders a sandbox (member entries and its elements in the shared sets keyed by its ' +
    'address, anti-spoof entries), all of a level in one bulk `nft -f` outside any clock. At each n, every sample ' +
    'is one `applySandbox(next, previous)` on a resident sandbox (spread over all n by a stride coprime to n), from ' +
    'just before the call until it returns: the whole policy (12 allowOut, 4 denyOut, 2 dnsAllow entries, v4 and ' +
    "v6, addresses and CIDRs from documentation ranges, different from the sandbox's previous one, internet access " +
    "flipping) replaced in one kernel transaction of element deletes and adds (the sandbox's member and anti-spoof " +
    'entries ensured in the same transaction); this is the firewall step of ' +
    'cubenet.setPolicy (which also writes the state file and kills withdrawn states, not timed here). Unrecorded ' +
    "warm-up loads first at each n (count in run.params). After the last level, the backend's inventory must count " +
    "as many sandboxes as were loaded. On FreeBSD the backend is cubenet's PfFirewall: each sandbox is the anchor " +
    'cube/sandbox-<id> (its rules and its allow, deny, dns and private-ranges tables), the population is loaded one ' +
    'anchor at a time (`pfctl -a ANCHOR -f -` per sandbox, outside the clock: pf has no transaction across anchors ' +
    'short of replacing the main ruleset), and each sample is applySandbox: one `pfctl -a ANCHOR -f -` process ' +
    "loading the sandbox's whole anchor, rules and tables, as one transaction, from spawn to exit; the check counts " +
    'the anchors under cube.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run policy-churn',
  samples: { full: 200, quick: 20 },
});
