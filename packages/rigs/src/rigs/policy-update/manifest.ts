import { defineManifest } from '../../harness/define-manifest.ts';

export const policyUpdateManifest = defineManifest({
  id: 'policy-update',
  title: 'Policy update latency',
  summary:
    "Latency of changing a live sandbox's policy: one address added, and 1 000 addresses replaced in one batch, " +
    'against the cost of spawning the firewall tool to do nothing, measured in the same run.',
  script: 'packages/rigs/src/rigs/policy-update/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['nft', 'ip', 'conntrack'] },
    notes: [
      'Bridge netfilter active (checked in preflight).',
      'List changes go through the runtime\'s netlink helper, built by scripts/setup.sh (packages/runtime/native/build.sh).',
    ],
  },
  metrics: [
    {
      name: 'update-latency',
      unit: 'ms',
      description: "One change to a live sandbox's allowOut list, committed to the kernel and to the state file.",
      labels: { op: ['add-one', 'replace-1000'] },
    },
    {
      name: 'firewall-spawn',
      unit: 'ms',
      description: 'Spawning `nft list tables` (doing nothing) in the same run: the floor a spawn-per-update design pays.',
      labels: {},
    },
  ],
  checks: [],
  clock:
    "add-one: from just before `cubenet.addAddresses(id, 'allowOut', [one new address])` until it returns: the " +
    "element is committed to the sandbox's shared set (one raw netlink batch through cubenet's long-lived " +
    "native/nft-set-elements helper, no process spawned; run.params.cubenet.listChanges says whether the helper was " +
    "built, else the change goes as nft text through the persistent `nft -i`) and the sandbox's state file is " +
    "written. replace-1000: the same for `cubenet.replaceAddresses(id, 'allowOut', 1 000 new addresses)` (500 IPv4 + " +
    '500 IPv6; one transaction deleting the previous 1 000 elements from the shared sets and adding the new ones, ' +
    'then the check for connection states to the withdrawn addresses; fresh addresses every time, none in the list ' +
    'replaced, checked by the rig outside the clock: cubenet sends only the entries that differ, so an overlap would ' +
    'shrink the transaction). firewall-spawn: from just before spawning `nft list tables` through ' +
    "the runtime's command runner until its exit is seen. The three are interleaved, one of each per round, after " +
    'unrecorded warm-up rounds; the sandbox is live (checked out, on the bridge) throughout. At the end the last ' +
    'added and replaced addresses are read back from the kernel set.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run policy-update',
  samples: { full: 300, quick: 10 },
});
