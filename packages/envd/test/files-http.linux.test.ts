import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestUser, startTestAgent, type TestAgent, type TestUser } from './helpers/agent.ts';

const LIMIT = 64 * 1024;
let agent: TestAgent;
let user: TestUser;

beforeAll(async () => {
  user = await createTestUser();
  agent = await startTestAgent({ maxUploadBytes: LIMIT });
});
afterAll(async () => {
  await agent?.stop();
  await user?.remove();
});

const filesUrl = (query: Record<string, string>) => `${agent.baseUrl}/files?${new URLSearchParams(query)}`;

/** A raw request, for query strings fetch would normalise and answers fetch would not show. */
function rawRequest(
  path: string,
  method = 'GET',
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${agent.baseUrl}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('GET /files', () => {
  it('returns the raw bytes, gzip-encoded when asked', async () => {
    const path = join(agent.dir, 'bytes.bin');
    const content = Buffer.from([0, 1, 2, 255, 254, 10]);
    await writeFile(path, content);
    const res = await fetch(filesUrl({ path, username: 'root' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(content);
    const gz = await new Promise<Buffer>((resolve, reject) => {
      request(filesUrl({ path }), { headers: { 'accept-encoding': 'gzip' } }, (r) => {
        expect(r.headers['content-encoding']).toBe('gzip');
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve(Buffer.concat(chunks)));
      })
        .on('error', reject)
        .end();
    });
    expect(gunzipSync(gz)).toEqual(content);
  });

  it('answers 404 with a JSON error for a missing file, 400 for a directory or a bad path, 401 for an unknown user', async () => {
    const missing = await fetch(filesUrl({ path: join(agent.dir, 'nothing') }));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 404, message: expect.stringContaining('nothing') });
    expect((await fetch(filesUrl({ path: agent.dir }))).status).toBe(400);
    expect((await fetch(filesUrl({}))).status).toBe(400);
    const badUtf8 = await rawRequest('/files?path=%2Ftmp%2F%FF%FE');
    expect(badUtf8.status).toBe(400);
    expect(JSON.parse(badUtf8.body)).toMatchObject({ code: 400, message: expect.stringContaining('not valid UTF-8') });
    const unknown = await fetch(filesUrl({ path: '/etc/hostname', username: 'cpe2e-nobody' }));
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toMatchObject({ code: 401 });
  });
});

describe('POST /files', () => {
  it('multipart: writes each file at its filename, owned by the user, with parents made', async () => {
    const form = new FormData();
    const a = join(agent.dir, 'up', 'a.txt');
    form.append('file', new Blob(['alpha']), a);
    form.append('file', new Blob(['beta']), 'relative/b.txt');
    const res = await fetch(filesUrl({ username: user.name }), { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const b = join(user.home, 'relative', 'b.txt');
    expect(await res.json()).toEqual([
      { name: 'a.txt', type: 'file', path: a },
      { name: 'b.txt', type: 'file', path: b },
    ]);
    expect(await readFile(a, 'utf8')).toBe('alpha');
    expect(await readFile(b, 'utf8')).toBe('beta');
    expect((await stat(a)).uid).toBe(user.uid);
    expect((await stat(join(agent.dir, 'up'))).uid).toBe(user.uid);
  });

  it('multipart with the path parameter writes there, replacing the old content', async () => {
    const path = join(agent.dir, 'replaced.txt');
    await writeFile(path, 'old');
    const form = new FormData();
    form.append('file', new Blob(['new']), path);
    const res = await fetch(filesUrl({ path }), { method: 'POST', body: form });
    expect(await res.json()).toEqual([{ name: 'replaced.txt', type: 'file', path }]);
    expect(await readFile(path, 'utf8')).toBe('new');
  });

  it('octet-stream: writes the body at ?path=, gunzipping a gzip body', async () => {
    const path = join(agent.dir, 'octet', 'o.bin');
    const plain = await fetch(filesUrl({ path }), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from('octets'),
    });
    expect(await plain.json()).toEqual([{ name: 'o.bin', type: 'file', path }]);
    expect(await readFile(path, 'utf8')).toBe('octets');
    const gz = await fetch(filesUrl({ path }), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.from('zipped')),
    });
    expect(gz.status).toBe(200);
    expect(await readFile(path, 'utf8')).toBe('zipped');
  });

  it('an upload over the limit is 413, keeps the old file and leaves no temp file', async () => {
    const path = join(agent.dir, 'limited', 'keep.txt');
    const big = Buffer.alloc(LIMIT + 1, 0x61);
    const first = await fetch(filesUrl({ path }), {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from('kept'),
    });
    expect(first.status).toBe(200);
    const declared = await rawRequest(
      `/files?path=${encodeURIComponent(path)}`,
      'POST',
      { 'content-type': 'application/octet-stream' },
      big,
    );
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toMatchObject({ code: 413, message: expect.stringContaining(`${LIMIT} bytes`) });
    // Chunked, so the size is only known while streaming.
    const streamed = await rawRequest(
      `/files?path=${encodeURIComponent(path)}`,
      'POST',
      { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
      big,
    );
    expect(streamed.status).toBe(413);
    const form = new FormData();
    form.append('file', new Blob([big]), path);
    const multipart = await fetch(filesUrl({}), { method: 'POST', body: form });
    expect(multipart.status).toBe(413);
    expect(await readFile(path, 'utf8')).toBe('kept');
    expect(await readdir(join(agent.dir, 'limited'))).toEqual(['keep.txt']);
    expect((await fetch(`${agent.baseUrl}/health`)).status).toBe(204);
  });

  it('a client that goes away mid-upload leaves neither the file nor a temporary one', async () => {
    const dir = join(agent.dir, 'aborted');
    await mkdir(dir);
    const port = new URL(agent.baseUrl).port;
    const heads = [
      `POST /files?path=${encodeURIComponent(join(dir, 'octet.bin'))} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`,
      `POST /files HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=BB\r\nContent-Length: 100000\r\n\r\n` +
        `--BB\r\nContent-Disposition: form-data; name="file"; filename="${join(dir, 'multi.bin')}"\r\n\r\n`,
    ];
    for (const head of heads) {
      const socket = connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(head + 'x'.repeat(5000));
      await sleep(200);
      socket.destroy();
    }
    for (let i = 0; i < 20 && (await readdir(dir)).length > 0; i++) await sleep(100);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses malformed bodies, missing paths, metadata and other content types with 4xx JSON errors', async () => {
    const cases: [string, RequestInit, number][] = [
      [
        filesUrl({}),
        { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=xyz' }, body: 'garbage' },
        400,
      ],
      [filesUrl({}), { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'no boundary' }, 400],
      [filesUrl({}), { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'x' }, 400],
      [
        filesUrl({ path: join(agent.dir, 'm') }),
        { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'x-metadata-k': 'v' }, body: 'x' },
        400,
      ],
      [
        filesUrl({ path: join(agent.dir, 'm') }),
        { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' },
        415,
      ],
      [
        filesUrl({ path: agent.dir }),
        { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'x' },
        400,
      ],
      [filesUrl({ path: join(agent.dir, 'm') }), { method: 'DELETE' }, 405],
    ];
    for (const [url, init, status] of cases) {
      const res = await fetch(url, init);
      expect(res.status, `${init.method} ${url} ${JSON.stringify(init.headers)}`).toBe(status);
      expect(await res.json()).toMatchObject({ code: status, message: expect.any(String) });
    }
    await expect(stat(join(agent.dir, 'm'))).rejects.toThrow(/ENOENT/);
  });
});
