// The child of HelperRunner (helper-runner.ts): reads one JSON request per line ({ id, argv }), runs argv without a
// shell (only the programs named in its own argv), and writes one JSON line per request ({ id, code, stdout, stderr }).
// It stays small, so its forks are cheap and never stall the controller's event loop. Its work is background work
// (killing the states of released sandboxes): it runs one command at a time, at a lower CPU priority that its
// children inherit, so it does not compete with the controller's next checkout or release on a small host.
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { createInterface } from 'node:readline';

try {
  setPriority(10);
} catch {
  // not allowed to lower it: run at the controller's priority
}

const allowed = new Set(process.argv.slice(2));
let running = 0;
let ended = false;
const exitWhenIdle = () => ended && running === 0 && queue.length === 0 && process.exit(0);
const reply = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const queue = [];
const next = () => {
  if (running === 0 && queue.length) run(queue.shift());
};
const run = (line) => {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    next();
    return;
  }
  const { id, argv } = request ?? {};
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string') || !allowed.has(argv[0])) {
    reply({ id, code: -1, stdout: '', stderr: `spawner: refused ${JSON.stringify(argv)}` });
    next();
    return;
  }
  running++;
  const done = (message) => {
    reply(message);
    running--;
    next();
    exitWhenIdle();
  };
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  let settled = false;
  child.on('error', (e) => settled || ((settled = true), done({ id, code: -1, stdout, stderr: e.message })));
  child.on(
    'close',
    (code, signal) => settled || ((settled = true), done({ id, code: code ?? (signal ? 128 : -1), stdout, stderr })),
  );
};
createInterface({ input: process.stdin })
  .on('line', (line) => {
    queue.push(line);
    next();
  })
  .on('close', () => {
    ended = true;
    exitWhenIdle();
  });
