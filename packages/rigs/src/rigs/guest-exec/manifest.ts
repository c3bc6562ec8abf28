import { defineManifest } from '../../harness/define-manifest.ts';

export const GUEST_EXEC_OPS = ['run-code', 'commands-run', 'file-write', 'file-read', 'health'] as const;

export const guestExecManifest = defineManifest({
  id: 'guest-exec',
  title: 'Guest exec: what the SDK calls inside a sandbox, round trip from the host',
  summary:
    'One code-interpreter-v1 sandbox checked out of its pool: runCode("1+1") (POST /execute on 49999), ' +
    'commands.run("true") (envd process.Process/Start), a 1 MiB file written and read back (envd POST/GET /files) and ' +
    "GET /health, each a round trip from the host over the sandbox's cubenet address, against floors measured in the " +
    'same run inside the guest: the same execute sent to the running default kernel through jupyter_client, and the ' +
    'same spawn.',
  script: 'packages/rigs/src/rigs/guest-exec/rig.ts',
  platforms: ['linux'],
  requirements: {
    root: true,
    binaries: { linux: ['qemu-system-x86_64', 'mmdebstrap'] },
    notes: [
      'The template is built by packages/runtime/guest/build-template.sh into /var/cache/coppice/templates (untimed).',
      "The sandbox is reached over the rig's own cubenet (prefix cpz, 10.83.0.0/24); no other address is contacted.",
    ],
  },
  metrics: [
    {
      name: 'round-trip',
      unit: 'ms',
      description:
        'From the host, one call to its complete answer: run-code = POST /execute {"code":"1+1"} to the end of its ' +
        'NDJSON stream (the result "2" checked); commands-run = process.Process/Start of /bin/bash -l -c true as user ' +
        '"user" (what the SDK sends) to the end of its stream, exit 0 checked; file-write = POST /files of 1 MiB ' +
        '(octet-stream); file-read = GET /files of it, bytes compared; health = GET /health (the host<->guest HTTP floor).',
      labels: { op: [...GUEST_EXEC_OPS] },
    },
    {
      name: 'in-guest',
      unit: 'ms',
      description:
        'Floors timed inside the guest (time.perf_counter in Python): execute = the same "1+1" sent to the running ' +
        'default kernel through jupyter_client (its connection file found from the ipykernel process), until the ' +
        'kernel reports idle; spawn = subprocess.run(["/bin/bash", "-l", "-c", "true"]) as user "user".',
      labels: { op: ['execute', 'spawn'] },
    },
    {
      name: 'run-code-floor',
      unit: 'ms',
      description:
        "runCode's floor: the i-th in-guest execute sample plus the i-th host GET /health sample of the same run, i.e. " +
        "the kernel's own work plus one host<->guest HTTP round trip.",
      labels: {},
    },
  ],
  clock:
    'Host clocks: performance.now() just before the request until its response body is fully read. In-guest clocks: ' +
    'a Python script run in the guest through envd (untimed) that times each call with time.perf_counter and prints the ' +
    'samples; its warm-up calls are dropped as the host side drops its own. The sandbox is checked out of a durable ' +
    'pool (untimed) and all samples are taken on it, the ops interleaved per sample (run-code, commands-run, ' +
    'file-write, file-read, health).',
  reproduce: 'node packages/rigs/bin/coppice-rigs.js run guest-exec',
  samples: { full: 50, quick: 10 },
});
