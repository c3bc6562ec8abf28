import { defineManifest } from '../../harness/define-manifest.ts';

/** The check groups: one claims row each; every SDK call class is one check of its group. */
export const E2B_COMPAT_GROUPS = [
  'api-server',
  'envd-execute',
  'port-routing',
  'filesystem-api',
  'persistent-kernel',
] as const;
export type E2bCompatGroup = (typeof E2B_COMPAT_GROUPS)[number];

export const e2bCompatManifest = defineManifest({
  id: 'e2b-compat',
  title: 'E2B compatibility: the official SDKs against Coppice',
  summary:
    'The official e2b (2.51.0) and @e2b/code-interpreter (2.8.0) npm packages, unchanged, pointed at a Coppice ' +
    "gateway started in the same process on this host's runtime (QEMU sandboxes from the base and " +
    "code-interpreter-v1 templates on a cubenet of the rig's own). Every class of SDK call is one pass/fail check " +
    'whose detail starts with the call: the control plane (create, connect, list, info, setTimeout, metrics, pause, ' +
    'resume, kill), commands (run, streamed output, background + wait, stdin, kill), the filesystem (write, read, ' +
    'list, makeDir, rename, remove, exists, watchDir, upload/download URLs), a server in the sandbox reached by the ' +
    'host name getHost returns, and the persistent kernel (state across calls, DataFrame → HTML, matplotlib → PNG, ' +
    'error name/value/traceback, contexts).',
  script: 'packages/rigs/src/rigs/e2b-compat/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['qemu-system-x86_64', 'nft', 'ip'] },
    notes: [
      'The templates are built by packages/runtime/guest/build-template.sh (base and code-interpreter-v1) into ' +
        '/var/cache/coppice/templates; the rig boots each once to fill its pool (minutes under TCG).',
      'The gateway listens on 127.0.0.1 on a free port; its sandboxes use cubenet prefix cpx, 10.81.0.0/25 and fd81::/64. ' +
        'Everything is destroyed when the rig ends.',
      'A sandbox host name `<port>-<id>.localhost:<port>` resolves to loopback in curl but not in Node: the rig sends ' +
        "it as the Host header to the gateway's address, and the upload/download URLs (which the SDK points at " +
        'E2B_SANDBOX_URL) go there with the envd host name the SDK would use without it.',
    ],
  },
  metrics: [
    {
      name: 'call-duration',
      unit: 'ms',
      description:
        'SDK clock of one check: from its first SDK call to the end of its last, one sample per check, by group.',
      labels: { group: [...E2B_COMPAT_GROUPS] },
    },
  ],
  checks: [...E2B_COMPAT_GROUPS],
  clock:
    'Checks, not clocks: a check passes when the SDK call returns what E2B documents (the detail says what was ' +
    "compared) and fails with the SDK's error otherwise; the claims count passes per group. A check that does not " +
    "finish within its time limit fails with that limit. call-duration is the wall time of each check on the rig's " +
    'clock, including the gateway and guest work it causes.',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run e2b-compat',
  samples: { full: 1, quick: 1 },
});
