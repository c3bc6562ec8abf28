import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, ConnectError } from '@connectrpc/connect';
import { afterEach, describe, expect, it } from 'vitest';
import { CloneHelper } from '../src/clone-helper.ts';
import { systemOsEffects } from '../src/os-effects.ts';
import { startTestAgent, type TestAgent } from './helpers/agent.ts';

let agent: TestAgent | undefined;
const scratch: string[] = [];
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  for (const dir of scratch.splice(0)) await rm(dir, { recursive: true, force: true });
});

const postInit = (a: TestAgent, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${a.baseUrl}/init`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('POST /init', () => {
  it('applies clock, hostname, entropy, env, token and sandbox id, then writes the generation', async () => {
    agent = await startTestAgent();
    const entropy = Buffer.from('0123456789abcdef');
    const res = await postInit(agent, {
      envVars: { A: '1' },
      accessToken: 'tok-1',
      timestamp: '2026-12-07T18:00:00.250Z',
      hostname: 'sbx-cpe2e',
      sandboxId: 'isbx_123',
      entropy: entropy.toString('base64'),
      defaultUser: 'root',
    });
    expect(res.status).toBe(204);
    expect(agent.effects.clock).toEqual([new Date('2026-12-07T18:00:00.250Z')]);
    expect(agent.effects.hostnames).toEqual(['sbx-cpe2e']);
    expect(agent.effects.entropy.map((b) => Buffer.from(b))).toEqual([entropy]);
    expect(agent.effects.generations).toEqual(['{"generation":1,"sandboxId":"isbx_123"}\n']);
    expect(agent.envd.state).toMatchObject({ defaultEnv: { A: '1' }, accessToken: 'tok-1', sandboxId: 'isbx_123' });

    expect((await postInit(agent, {}, { 'x-access-token': 'tok-1' })).status).toBe(204);
    expect(agent.effects.generations.at(-1)).toBe('{"generation":2,"sandboxId":"isbx_123"}\n');
  });

  it('refuses bad bodies naming the field, and changes nothing', async () => {
    agent = await startTestAgent();
    const bad: [unknown, RegExp][] = [
      ['{not json', /not JSON/],
      [{ hostname: 'bad host!' }, /hostname/],
      [{ envVars: { 'BAD-NAME': 'x' } }, /envVars/],
      [{ entropy: 'not base64!' }, /entropy/],
      [{ entropy: Buffer.alloc(513).toString('base64') }, /entropy: must be 16\.\.512 bytes/],
      [{ entropy: Buffer.alloc(15).toString('base64') }, /entropy: must be 16\.\.512 bytes/],
      [{ timestamp: 'yesterday' }, /timestamp/],
      [{ accessToken: '' }, /accessToken/],
      [{ sandboxId: '../x' }, /sandboxId/],
      [{ surprise: true }, /surprise/],
      [[1, 2], /body/],
    ];
    for (const [body, message] of bad) {
      const res = await postInit(agent, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(message);
    }
    expect(agent.effects.generations).toEqual([]);
    expect(agent.envd.state.accessToken).toBeUndefined();
  });

  it('a failing OS effect is a 500 and leaves token and env as they were', async () => {
    agent = await startTestAgent();
    agent.effects.failHostname = new Error('read-only /proc');
    const res = await postInit(agent, { hostname: 'h', accessToken: 'never', envVars: { B: '2' } });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { message: string }).message).toMatch(/read-only \/proc/);
    expect(agent.envd.state.accessToken).toBeUndefined();
    expect(agent.envd.state.defaultEnv).toEqual({});
  });
});

describe('access token', () => {
  it('once set, every route but /health needs it: 401 JSON on HTTP, unauthenticated on Connect', async () => {
    agent = await startTestAgent();
    expect((await postInit(agent, { accessToken: 'secret-token' })).status).toBe(204);
    expect((await fetch(`${agent.baseUrl}/health`)).status).toBe(204);

    const files = await fetch(`${agent.baseUrl}/files?path=/etc/hostname`);
    expect(files.status).toBe(401);
    expect(await files.json()).toMatchObject({ code: 401, message: expect.stringContaining('X-Access-Token') });
    expect(
      (await fetch(`${agent.baseUrl}/files?path=/etc/hostname`, { headers: { 'x-access-token': 'wrong' } })).status,
    ).toBe(401);
    expect(
      (await fetch(`${agent.baseUrl}/files?path=/etc/hostname`, { headers: { 'x-access-token': 'secret-token' } }))
        .status,
    ).toBe(200);
    expect((await postInit(agent, { accessToken: 'takeover' })).status).toBe(401);

    // The SDK's signed file URLs (uploadUrl/downloadUrl) carry a signature made with the token instead of it.
    const sign = (op: string, exp?: number) =>
      `v1_${createHash('sha256')
        .update(['/etc/hostname', op, 'root', 'secret-token', ...(exp === undefined ? [] : [exp])].join(':'))
        .digest('base64')
        .replace(/=+$/, '')}`;
    const signed = (signature: string, exp?: number) =>
      fetch(
        `${agent!.baseUrl}/files?path=%2Fetc%2Fhostname&username=root&signature=${encodeURIComponent(signature)}${exp === undefined ? '' : `&signature_expiration=${exp}`}`,
      );
    const later = Math.floor(Date.now() / 1000) + 60;
    expect((await signed(sign('read'))).status).toBe(200);
    expect((await signed(sign('read', later), later)).status).toBe(200);
    expect((await signed(sign('read', later - 120), later - 120)).status).toBe(401);
    expect((await signed(sign('write'))).status).toBe(401);

    for (const call of [
      () => agent!.filesystem.stat({ path: '/' }),
      () =>
        agent!.process
          .start({ process: { cmd: 'true' } })
          [Symbol.asyncIterator]()
          .next(),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.Unauthenticated);
    }
    const authed = agent.clients({ 'x-access-token': 'secret-token' });
    expect((await authed.filesystem.stat({ path: '/' })).entry?.path).toBe('/');
  });
});

describe('system OS effects', () => {
  // Never started: these effects do not go through the helper (its own tests are in clone-helper.linux.test.ts).
  const idleHelper = () => new CloneHelper('/nonexistent/coppice-clone-helper');

  it('writes the generation file, creating its folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cpenvd-gen-'));
    scratch.push(dir);
    const effects = systemOsEffects({ cloneHelper: idleHelper(), generationFile: join(dir, 'run', 'generation') });
    await effects.writeGeneration('{"generation":1}\n');
    await effects.writeGeneration('{"generation":2}\n');
    expect(await readFile(join(dir, 'run', 'generation'), 'utf8')).toBe('{"generation":2}\n');
    expect(await readdir(join(dir, 'run'))).toEqual(['generation']);
  });

  it('sets the host name through the kernel file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cpenvd-host-'));
    scratch.push(dir);
    const kernel = join(dir, 'kernel-hostname');
    await writeFile(kernel, 'coppice\n');
    await systemOsEffects({
      cloneHelper: idleHelper(),
      generationFile: join(dir, 'g'),
      kernelHostnameFile: kernel,
    }).setHostname('sbx-1');
    expect(await readFile(kernel, 'utf8')).toBe('sbx-1');
  });
});
