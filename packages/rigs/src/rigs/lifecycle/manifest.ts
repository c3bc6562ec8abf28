import { defineManifest } from '../../harness/define-manifest.ts';

export const lifecycleManifest = defineManifest({
  id: 'lifecycle',
  title: 'Sandbox network lifecycle: checkout, release, leaks',
  summary:
    'Checkout of a sandbox network (addresses + endpoint on the bridge + firewall policy) and its release ' +
    '(rules removed, states killed, endpoint recycled), over N sandboxes; then release-all and an audit of the ' +
    'kernel against the runtime: every leaked state, chain or endpoint counts.',
  script: 'packages/rigs/src/rigs/lifecycle/rig.ts',
  platforms: ['linux', 'freebsd'],
  requirements: {
    root: true,
    binaries: {
      linux: ['nft', 'ip', 'conntrack', 'bash'],
      freebsd: ['pfctl', 'ifconfig', 'jail', 'jexec', 'jls', 'kldstat', 'sysctl', 'nc'],
    },
    notes: [
      'Bridge netfilter active (net.bridge.bridge-nf-call-iptables/ip6tables = 1): checked in preflight.',
      "FreeBSD: the same cubenet calls on pf (an anchor per sandbox), VNET jails on epairs and `jexec`, through the runtime's openCubenet; preflight checks pf enabled, its anchor/table limits, net.link.bridge.pfil_member=1, if_bridge/if_epair/if_tuntap and VIMAGE. This path has run only against the runtime's FreeBSD host model (cubenet level), never on a FreeBSD host, so no FreeBSD figure exists yet.",
    ],
  },
  metrics: [
    {
      name: 'checkout',
      unit: 'ms',
      description: 'One sandbox network checked out from the warm endpoint pool, policy applied.',
      labels: {},
    },
    {
      name: 'release',
      unit: 'ms',
      description: 'One sandbox released: from then on it can open no connection.',
      labels: {},
    },
  ],
  checks: ['leaked-after-release-all'],
  clock:
    'checkout: from just before `cubenet.checkout()` (policy: 3 allowOut entries including the gateway, 1 denyOut, ' +
    "1 dnsAllow) until it returns: the sandbox's nft rules are committed in one transaction and its state file is " +
    'renamed into place. The pool holds N warm endpoints (namespace + veth on the bridge, addressed, unable to send) ' +
    'made before the clock runs, as a deployment keeps them. release: from just before `cubenet.release()` until it ' +
    "returns: the sandbox's rules and hook are removed and its state file is gone; killing its connection states and " +
    'recycling its endpoint run after the return (off the critical path, once no checkout or release has run for ' +
    '20 ms or at most 2 s later) and are waited for before the audit. After all checkouts and before the first ' +
    'release, every sandbox opens one TCP connection to the host (outside the clocks; then a pause, ' +
    'run.params.pauseBeforeReleasesMs, while the kernel tears down those helper processes), so each has a ' +
    "conntrack state that release must kill (a closed connection's state lives 120 s, so on a slow run the earliest " +
    'may have expired: run.params.statesBeforeRelease counts those alive). Sandboxes are checked out one after another, then released one after ' +
    "another. The check: after release-all, the audit compares the runtime's belief with the kernel (nft chains and " +
    'sets, forwards, anti-spoof bindings, links and namespaces named cnr-*, conntrack entries of sandbox addresses); ' +
    'then everything is torn down and the kernel must hold nothing named cnr. On FreeBSD the same calls run on pf and ' +
    "VNET jails: checkout loads the sandbox's anchor cube/sandbox-<id> (its rules and tables, one `pfctl -a ANCHOR -f -`) " +
    'and a warm endpoint is an epair on the bridge whose other end sits in a VNET jail; release flushes the anchor and ' +
    'kills its pf states with `pfctl -k` (off the critical path as above); the connection is `jexec JAIL nc -z` to the ' +
    "host; the audit reads anchors and their tables, the endpoint group's members and jails, and pf states of the " +
    'sandbox subnet; after teardown the kernel must hold no interface or jail named cnr-*, no member of the group ' +
    'cnr_ep, no anchor under cube, no pf state of 10.78.0.0/24 or fd78::/64, and no hook on cnr_ep when the hook ' +
    'is all the main ruleset holds (cubenet loaded it; hook lines an operator keeps in pf.conf beside other rules stay).',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run lifecycle',
  samples: { full: 60, quick: 10 },
});
