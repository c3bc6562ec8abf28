/**
 * guest-exec: the calls the E2B SDKs make inside a code-interpreter sandbox, each a round trip from the host, and
 * their floors measured inside the same guest in the same run. See manifest.ts.
 */
import { DEFAULT_SANDBOX_TB_SIZE_MIB } from '@coppice/runtime/sandbox';
import { GUEST_TEMPLATES_ENABLED, GUEST_TEMPLATES_OFF } from '../../lib/pools/template-gate.ts';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Process } from '@coppice/envd';
import { AGENT_PORT } from '@coppice/runtime/sandbox';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { poolRigPreflight, setupQemu } from '../../lib/pools/qemu-pools.ts';
import { openTemplatePool, openTemplateRigCubenet, templateRigImage } from '../../lib/pools/template-pools.ts';

const INTERPRETER_PORT = 49999;
const FILE_BYTES = 1 << 20;
const FILE_PATH = '/home/user/guest-exec.bin';
const floorsScript = new URL('./guest-floors.py', import.meta.url);

export function preflight(ctx: PreflightContext): Promise<string[]> {
  if (!GUEST_TEMPLATES_ENABLED) return Promise.resolve([GUEST_TEMPLATES_OFF]);
  return poolRigPreflight(ctx);
}

/** The SDK names the user of a call with Basic credentials "<user>:". */
const asUser = (user: string) => ({ authorization: `Basic ${Buffer.from(`${user}:`).toString('base64')}` });

export async function run(ctx: RigContext): Promise<void> {
  const q = await setupQemu(ctx, { defaultTbSizeMiB: DEFAULT_SANDBOX_TB_SIZE_MIB });
  const net = await openTemplateRigCubenet(ctx);
  const image = await templateRigImage(ctx, 'code-interpreter-v1');
  const pool = await openTemplatePool(ctx, q, net, 'gxci', image, 'durable', { hot: 0, durable: 0 });
  const t0 = performance.now();
  await pool.init();
  ctx.log(`code-interpreter-v1: template checkpoint in ${(performance.now() - t0).toFixed(0)} ms`);
  const sandbox = await pool.checkout();
  ctx.defer(() => pool.return(sandbox.id, { refill: false }));
  const address = sandbox.network?.address.split('/')[0];
  if (!address) throw new Error('the sandbox has no address');
  const agent = `http://${address}:${AGENT_PORT}`;
  const transport = createConnectTransport({ baseUrl: agent, httpVersion: '1.1', useBinaryFormat: false });
  const process = createClient(Process, transport);
  const warmup = ctx.param('warmup', ctx.quick ? 2 : 5);
  ctx.param('fileBytes', FILE_BYTES);

  const timed = async (f: () => Promise<void>) => {
    const s = performance.now();
    await f();
    return performance.now() - s;
  };
  const series = (op: string) => ctx.series('round-trip', { op });

  await ctx.repeat({ phase: 'runCode("1+1")', warmup, count: ctx.samples, series: series('run-code') }, () =>
    timed(() => runCode(address, '1+1', '2')),
  );
  await ctx.repeat({ phase: 'commands.run("true")', warmup, count: ctx.samples, series: series('commands-run') }, () =>
    timed(async () => {
      const r = await runCommand(process, 'user', '/bin/bash', ['-l', '-c', 'true']);
      if (r.exitCode !== 0) throw new Error(`commands.run("true") exited ${r.exitCode}: ${r.stderr}`);
    }),
  );
  const content = randomBytes(FILE_BYTES);
  await ctx.repeat({ phase: 'files.write 1 MiB', warmup, count: ctx.samples, series: series('file-write') }, () =>
    timed(() => writeFile(agent, FILE_PATH, content)),
  );
  await ctx.repeat({ phase: 'files.read 1 MiB', warmup, count: ctx.samples, series: series('file-read') }, () =>
    timed(async () => {
      const got = await readGuestFile(agent, FILE_PATH);
      if (!got.equals(content))
        throw new Error(`read back ${got.length} bytes that differ from the ${FILE_BYTES} written`);
    }),
  );
  const health: number[] = [];
  await ctx.repeat({ phase: 'GET /health', warmup, count: ctx.samples, series: series('health') }, async (i) => {
    const ms = await timed(async () => {
      const r = await fetch(`${agent}/health`);
      await r.arrayBuffer();
      if (!r.ok) throw new Error(`GET /health answered ${r.status}`);
    });
    if (i >= warmup) health.push(ms);
    return ms;
  });

  // The floors, inside the guest (each script run untimed from the host; its own warm-up samples dropped).
  const script = await readFile(floorsScript, 'utf8');
  const inGuest = async (what: 'execute' | 'spawn', user: string): Promise<number[]> => {
    const r = await runCommand(process, user, '/usr/bin/python3', ['-c', script, what, String(warmup + ctx.samples)]);
    if (r.exitCode !== 0) throw new Error(`in-guest ${what} floor exited ${r.exitCode}: ${r.stderr.trim()}`);
    const samples = (JSON.parse(r.stdout) as { samples: number[] }).samples.slice(warmup);
    const rec = ctx.series('in-guest', { op: what });
    for (const s of samples) rec.add(s);
    return samples;
  };
  // The kernel's connection file belongs to the interpreter's user: root reads it wherever it is.
  const execute = await inGuest('execute', 'root');
  await inGuest('spawn', 'user');
  const floor = ctx.series('run-code-floor');
  for (let i = 0; i < Math.min(execute.length, health.length); i++) floor.add(execute[i]! + health[i]!);
}

/** POST /execute as @e2b/code-interpreter sends it, read to the end of its NDJSON stream; checks the main result. */
async function runCode(address: string, code: string, expect: string): Promise<void> {
  const r = await fetch(`http://${address}:${INTERPRETER_PORT}/execute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`POST /execute answered ${r.status}: ${text.slice(0, 200)}`);
  const events = text
    .split('\n')
    .filter((l) => l.trim())
    .map(
      (l) => JSON.parse(l) as { type: string; text?: string; is_main_result?: boolean; name?: string; value?: string },
    );
  const error = events.find((e) => e.type === 'error');
  if (error) throw new Error(`execute raised ${error.name}: ${error.value}`);
  const main = events.find((e) => e.type === 'result' && e.is_main_result);
  if (main?.text !== expect)
    throw new Error(`execute of ${JSON.stringify(code)} gave ${JSON.stringify(main?.text)}, not ${expect}`);
  if (!events.some((e) => e.type === 'end_of_execution'))
    throw new Error('the execute stream ended without end_of_execution');
}

/** process.Process/Start read to its end event, as commands.run does. */
async function runCommand(
  process: Client<typeof Process>,
  user: string,
  cmd: string,
  args: string[],
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  let exitCode: number | undefined;
  const dec = new TextDecoder();
  for await (const res of process.start({ process: { cmd, args, envs: {} } }, { headers: asUser(user) })) {
    const ev = res.event?.event;
    if (ev?.case === 'data') {
      if (ev.value.output.case === 'stdout') stdout += dec.decode(ev.value.output.value);
      if (ev.value.output.case === 'stderr') stderr += dec.decode(ev.value.output.value);
    }
    if (ev?.case === 'end') exitCode = ev.value.exitCode;
  }
  if (exitCode === undefined) throw new Error(`${cmd} ended without an end event`);
  return { exitCode, stdout, stderr };
}

async function writeFile(agent: string, path: string, content: Buffer): Promise<void> {
  const r = await fetch(`${agent}/files?${new URLSearchParams({ path, username: 'user' })}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: content,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`POST /files answered ${r.status}: ${text.slice(0, 200)}`);
}

async function readGuestFile(agent: string, path: string): Promise<Buffer> {
  const r = await fetch(`${agent}/files?${new URLSearchParams({ path, username: 'user' })}`);
  const body = Buffer.from(await r.arrayBuffer());
  if (!r.ok) throw new Error(`GET /files answered ${r.status}: ${body.toString('utf8', 0, 200)}`);
  return body;
}
