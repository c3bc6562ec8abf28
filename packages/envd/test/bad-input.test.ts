import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BundledAgent, buildBundle, startBundledAgent } from './helpers/bundled-agent.ts';
import { createTestUser, type TestUser } from './helpers/agent.ts';

// The bundle as the guest runs it, as a child process: a request that crashed it would show as an exit here.
let agent: BundledAgent;
let user: TestUser;

beforeAll(async () => {
  user = await createTestUser();
  agent = await startBundledAgent(await buildBundle(), ['--default-user', user.name, '--max-upload-bytes', '4096']);
}, 60_000);
afterAll(async () => {
  await agent?.stop();
  await user?.remove();
});

function envelope(flags: number, payload: Buffer | string, declaredLength?: number): Buffer {
  const body = Buffer.from(payload);
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(declaredLength ?? body.length, 1);
  return Buffer.concat([head, body]);
}

async function post(
  path: string,
  contentType: string,
  body: Buffer | string,
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${agent.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, text: await res.text() };
}

/** The end-of-stream envelope's error code of a Connect streaming response. */
function endOfStreamError(text: string): string | undefined {
  const bytes = Buffer.from(text, 'latin1');
  for (let at = 0; at + 5 <= bytes.length; ) {
    const flags = bytes[at]!;
    const length = bytes.readUInt32BE(at + 1);
    const payload = bytes.subarray(at + 5, at + 5 + length).toString();
    if (flags & 0x02) return (JSON.parse(payload) as { error?: { code?: string } }).error?.code ?? 'ok';
    at += 5 + length;
  }
  return undefined;
}

async function stream(path: string, body: Buffer): Promise<string | undefined> {
  const res = await fetch(`${agent.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/connect+json' },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 200) return `http ${res.status}`;
  return endOfStreamError(Buffer.from(await res.arrayBuffer()).toString('latin1'));
}

describe('bad input to the bundled agent', () => {
  it('malformed unary JSON and wrong field types are invalid_argument', async () => {
    for (const body of ['{', 'null', '[]', '{"path":5}', '{"path":["a"]}', '{"depth":-1}', '\u00ff\u00fe']) {
      const { status, text } = await post('/filesystem.Filesystem/Stat', 'application/json', body);
      expect(status, body).toBe(400);
      expect(JSON.parse(text)).toMatchObject({ code: 'invalid_argument' });
    }
  });

  it('ignores unknown fields, as protobuf JSON does, so a newer SDK adding one still works', async () => {
    expect(
      (await post('/filesystem.Filesystem/Stat', 'application/json', '{"path":"/tmp","fieldFromTheFuture":1}')).status,
    ).toBe(200);
  });

  it('unknown methods and services are 404 and other codecs 415', async () => {
    expect((await post('/process.Process/Explode', 'application/json', '{}')).status).toBe(404);
    expect((await post('/nope.Service/Method', 'application/json', '{}')).status).toBe(404);
    expect((await post('/process.Process/List', 'application/proto', '')).status).toBe(415);
  });

  it('malformed stream envelopes end the stream with an error, never a hang', async () => {
    expect(await stream('/process.Process/Start', envelope(0, '{"process":'))).toBe('invalid_argument');
    expect(await stream('/process.Process/Start', envelope(0, '{}', 1000))).toMatch(/invalid_argument|http 400/);
    expect(await stream('/process.Process/Start', envelope(0, 'x'.repeat(10), 0xffffffff))).toMatch(
      /resource_exhausted|invalid_argument|http 4/,
    );
    expect(await stream('/process.Process/Start', Buffer.from([0, 0]))).toMatch(/invalid_argument|http 400/);
    expect(await stream('/process.Process/Start', envelope(0, '{"process":{"cmd":"/bin/true"}}'))).toBe('ok');
  });

  it('signals to a process that is gone are not_found, an upload past the limit 413', async () => {
    const { status, text } = await post(
      '/process.Process/SendSignal',
      'application/json',
      '{"process":{"pid":4000000},"signal":"SIGNAL_SIGKILL"}',
    );
    expect(status).toBe(404);
    expect(JSON.parse(text)).toMatchObject({ code: 'not_found' });
    const upload = await fetch(`${agent.baseUrl}/files?path=big`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: randomBytes(5000),
    });
    expect(upload.status).toBe(413);
  });

  it('is still serving after all of it', async () => {
    expect(agent.child.exitCode).toBeNull();
    expect((await fetch(`${agent.baseUrl}/health`)).status).toBe(204);
  });
});
