import { defineManifest } from '../../harness/define-manifest.ts';

export const CC_LEVELS = ['1', '2', '10', '50'] as const;
/** How many sandboxes the gateway holds when its RSS is read: none, the quick run's 4, the full run's 50. */
export const RSS_HELD = ['0', '4', '50'] as const;

const cc = { cc: [...CC_LEVELS] };

export const e2bLatencyManifest = defineManifest({
  id: 'e2b-latency',
  title: "E2B latency: create, first runCode and kill by the SDK's clock",
  summary:
    'What an E2B program waits for on Coppice: the official @e2b/code-interpreter SDK (2.8.0) against the gateway ' +
    'on this host, Sandbox.create() of the code-interpreter template, the first runCode("1+1"), then kill(), each ' +
    "phase and end to end, with cc calls released together. The floor is the same template's pool checkout " +
    '(until the guest agent answers /health, then returned), measured in the same run on the same pool before the ' +
    'gateway opens it. Checks count what create/kill cycles leave behind (VMs, cubenet endpoints, disk layers and ' +
    'checkpoints, pool entries, gateway rows), also after the gateway is SIGKILLed mid-create and restarted; the ' +
    "gateway's RSS is read with no sandbox and holding N.",
  script: 'packages/rigs/src/rigs/e2b-latency/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['qemu-system-x86_64', 'nft', 'ip'] },
    notes: [
      'Needs the code-interpreter-v1 template (packages/runtime/guest/build-template.sh code-interpreter-v1); its ' +
        'first checkpoint in the run boots the guest and is not timed.',
      'The pool is sized by run.params.poolHot / poolDurable (quick 2 / 2, full 10 / 10). A level of cc above the ' +
        'hot tier measures a mix: the first `poolHot` creates continue a stopped VM, the next `poolDurable` restore ' +
        "an entry's checkpoint, the rest restore the template checkpoint. At cc=50 with 10 / 10 that is 10 / 10 / " +
        '30: cc=50 measures the restore path under contention, not the hot tier. The floor at the same cc has the ' +
        'same mix.',
      "The gateway runs in the rig's process for the latency levels and the cycles, and as a process of its own " +
        '(rigs/e2b-latency/gateway-process.ts through the tsx loader) for RSS and the SIGKILL, so that its RSS is ' +
        'its own and it can be killed.',
      'Between rounds the rig waits until the pool has refilled (its state file), so each round starts from a ' +
        "full pool, as the floor's rounds do.",
    ],
  },
  metrics: [
    {
      name: 'checkout',
      unit: 'ms',
      description: 'Floor: pool checkout of the template until the guest agent answered /health.',
      labels: cc,
    },
    {
      name: 'host-create',
      unit: 'ms',
      description:
        "The gateway's create without the gateway: pool checkout with an SDK create's default policy, then the guest " +
        "agent's /init with a sandbox identity (the same pool, before the gateway opens it).",
      labels: cc,
    },
    {
      name: 'create',
      unit: 'ms',
      description: 'Sandbox.create() of the code-interpreter template, as the SDK returns it.',
      labels: cc,
    },
    {
      name: 'first-run',
      unit: 'ms',
      description: 'The first sandbox.runCode("1+1") after create, until its result ("2") is back.',
      labels: cc,
    },
    { name: 'kill', unit: 'ms', description: 'sandbox.kill() until the SDK returns.', labels: cc },
    {
      name: 'end-to-end',
      unit: 'ms',
      description: 'create + first runCode + kill, one call after another.',
      labels: cc,
    },
    {
      name: 'gateway-rss',
      unit: 'MiB',
      description:
        'VmRSS of the gateway process (node, tsx loader) holding `held` running sandboxes; three readings a second apart.',
      labels: { held: [...RSS_HELD] },
    },
  ],
  checks: ['no-leak-after-cycles', 'no-leak-after-sigkill-restart'],
  clock:
    'SDK clock, performance.now() in the rig around each SDK call: create from just before Sandbox.create() until ' +
    "it resolves (the gateway has checked a pool entry out with the sandbox's policy, given the agent its identity " +
    'and recorded the row), first-run until runCode resolves with its result, kill until kill() resolves. The SDK ' +
    'talks HTTP over loopback to the gateway (E2B_API_URL and E2B_SANDBOX_URL both the gateway). checkout: from ' +
    "just before pool.checkout() until the guest agent answered its /health probe (the pool's readyAt); the return " +
    'is not timed. host-create: from just before pool.checkout() with the policy until the /init answered. Leak ' +
    "checks read the pool's and cubenet's state files, /proc and the run folders from outside the runtime: with no sandbox held, only the pool's idle entries may exist.",
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run e2b-latency',
  samples: { full: 30, quick: 5 },
});
