// Prints the agent's resident memory (VmRSS, KiB) after start and after a few calls of each kind, as JSON.
// A developer's probe for choosing flags and dependencies, not a published figure (those come from rigs):
//   node scripts/measure-rss.mjs [node-binary [bundle [node flags...]]]
// e.g. node scripts/measure-rss.mjs scripts/bookworm-node18.sh dist/envd.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [node = process.execPath, bundle = new URL('../dist/envd.mjs', import.meta.url).pathname, ...flags] =
  process.argv.slice(2);
const scratch = mkdtempSync(join(tmpdir(), 'cpenvd-rss-'));
const child = spawn(node, [...flags, bundle, '--host', '127.0.0.1', '--port', '0', '--default-user', 'root'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
try {
  let out = '';
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
  });
  const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]);
  const base = `http://127.0.0.1:${port}`;
  const envelope = (message) => {
    const body = Buffer.from(JSON.stringify(message));
    const head = Buffer.alloc(5);
    head.writeUInt32BE(body.length, 1);
    return Buffer.concat([head, body]);
  };
  await new Promise((r) => setTimeout(r, 2000));
  const afterStart = rssKiB();
  const file = join(scratch, 'one-mib.bin');
  for (let i = 0; i < 5; i++) {
    await fetch(`${base}/health`);
    await (
      await fetch(`${base}/filesystem.Filesystem/ListDir`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"path":"/etc","depth":1}',
      })
    ).text();
    await (
      await fetch(`${base}/process.Process/Start`, {
        method: 'POST',
        headers: { 'content-type': 'application/connect+json' },
        body: envelope({ process: { cmd: '/bin/bash', args: ['-l', '-c', 'echo hi'] } }),
      })
    ).arrayBuffer();
    await (
      await fetch(`${base}/files?path=${encodeURIComponent(file)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(1 << 20),
      })
    ).text();
    await (await fetch(`${base}/files?path=${encodeURIComponent(file)}`)).arrayBuffer();
  }
  await new Promise((r) => setTimeout(r, 1000));
  console.log(JSON.stringify({ node, flags, rssKiBAfterStart: afterStart, rssKiBAfterCalls: rssKiB() }));
} finally {
  child.kill('SIGTERM');
  rmSync(scratch, { recursive: true, force: true });
}
