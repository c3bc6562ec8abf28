import { defineManifest } from '../../harness/define-manifest.ts';

export const policyUpdateManifest = defineManifest({
  id: 'policy-update',
  title: 'Policy update latency',
  summary:
    "Latency of changing a live sandbox's policy: one address added, and 1 000 addresses replaced in one batch, " +
    'against the cost of spawning the firewall tool to do nothing, measured in the same run.',
  script: 'packages/rigs/src/rigs/policy-update/rig.ts',
  platforms: ['linux', 'freebsd'],
  requirements: {
    root: true,
    binaries: {
      linux: ['nft', 'ip', 'conntrack'],
      freebsd: ['pfctl', 'ifconfig', 'jail', 'jexec', 'jls', 'kldstat', 'sysctl'],
    },
    notes: [
      'Bridge netfilter active (checked in preflight).',
      "List changes go through the runtime's netlink helper, built by scripts/setup.sh (packages/runtime/native/build.sh).",
      "FreeBSD: the same cubenet calls on pf (an anchor per sandbox, its lists in tables changed with `pfctl -T add|replace`), the sandbox a VNET jail on an epair, through the runtime's openCubenet; preflight checks pf enabled, its anchor/table limits, net.link.bridge.pfil_member=1, if_bridge/if_epair/if_tuntap and VIMAGE. This path has run only against the runtime's FreeBSD host model (cubenet level), never on a FreeBSD host, so no FreeBSD figure exists yet.",
    ],
  },
  metrics: [
    {
      name: 'update-latency',
      unit: 'ms',
      description:
        "One change to a live sandbox's allowOut list, committed to the kernel and to the state file; replace-1000-floor (Linux): the replace's element batch applied by the netlink helper alone, the floor under replace-1000.",
      labels: { op: ['add-one', 'replace-1000', 'replace-1000-floor'] },
    },
    {
      name: 'firewall-spawn',
      unit: 'ms',
      description:
        'Spawning the firewall tool to do nothing (`nft list tables` on Linux, `pfctl -s info` on FreeBSD) in the same run: the floor a spawn-per-update design pays.',
      labels: {},
    },
  ],
  checks: [],
  clock:
    "add-one: from just before `cubenet.addAddresses(id, 'allowOut', [one new address])` until it returns: the " +
    "element is committed to the sandbox's shared set (one raw netlink batch through cubenet's long-lived " +
    'native/nft-set-elements helper, no process spawned; run.params.cubenet.listChanges says whether the helper was ' +
    "built, else the change goes as nft text through the persistent `nft -i`) and the sandbox's state file is " +
    "written. replace-1000: the same for `cubenet.replaceAddresses(id, 'allowOut', 1 000 new addresses)` (500 IPv4 + " +
    '500 IPv6; one transaction deleting the previous 1 000 elements from the shared sets and adding the new ones, ' +
    'then the check for connection states to the withdrawn addresses; fresh addresses every time, none in the list ' +
    'replaced, checked by the rig outside the clock: cubenet sends only the entries that differ, so an overlap would ' +
    'shrink the transaction). replace-1000-floor (Linux, when the helper is built; run.params.replaceFloor): in ' +
    'the same round, just before each replace, the very batch that replace will send (the deletes of the list the ' +
    'kernel holds and the adds of the new 1 000, encoded outside the clock) applied through a second ' +
    "native/nft-set-elements process of the rig's own, from just before the request is written until its answer " +
    'is read; the inverse batch follows, unrecorded, so the sandbox holds what cubenet believes before the replace ' +
    "runs: the kernel's work and one helper round trip, nothing of the runtime. firewall-spawn: from just before spawning `nft list tables` (FreeBSD: `pfctl -s info`) through " +
    "the runtime's command runner until its exit is seen. After unrecorded warm-up rounds, updates (one add-one and " +
    'one replace-1000 per round) and spawns are recorded in separate blocks (run.params.blockSize each) in A B B A ' +
    'order (run.params.blockOrder, U = updates, S = spawns), and each spawn block is followed by unrecorded update ' +
    "rounds (run.params.settleRoundsAfterSpawns): a spawn forks the rig's process, after which writes to its heap " +
    'take copy-on-write faults for a while (add-one read 2.0 ms right after an nft spawn against 0.6 ms without, on ' +
    'a 2-vCPU VM), and the runtime spawns nothing on these paths. The sandbox is live (checked out, on the bridge) ' +
    'throughout. At the end the last ' +
    "added and replaced addresses are read back from the kernel set. On FreeBSD (pf): the sandbox's allowOut list " +
    'is the table sandbox_allow of its anchor cube/sandbox-<id>; add-one is one `pfctl -a ANCHOR -t sandbox_allow -T add -f -` ' +
    '(the address on standard input) and replace-1000 one `pfctl -a ANCHOR -t sandbox_allow -T replace -f -` (the ' +
    "whole new list, swapped in by the kernel in one ioctl), each spawned through the runtime's command runner and " +
    'followed by the state-file write, so both pay a pfctl spawn; replace-1000 then reads the states (`pfctl -ss`) ' +
    "and kills those from the sandbox to a withdrawn address (one `pfctl -k SANDBOX -k DESTINATION` each; the rig's " +
    'sandbox has none), inside the clock. firewall-spawn is `pfctl -s info`. At the end the table is read back whole with `pfctl -a ANCHOR ' +
    '-t sandbox_allow -T show` and must hold exactly the last batch and the address added after it.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run policy-update',
  samples: { full: 300, quick: 10 },
});
