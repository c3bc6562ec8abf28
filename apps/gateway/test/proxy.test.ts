import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

async function sandbox(body: Record<string, unknown> = {}) {
  const res = await h.api('/v2/sandboxes', {
    method: 'POST',
    body: JSON.stringify({ templateID: 'base', timeout: 60, ...body }),
  });
  return (await res.json()) as { sandboxID: string; envdAccessToken: string; trafficAccessToken: string | null };
}

function viaHeaders(
  id: string,
  port: number,
  path: string,
  headers: Record<string, string> = {},
  init: RequestInit = {},
) {
  return fetch(`${h.url}${path}`, {
    ...init,
    headers: { 'E2b-Sandbox-Id': id, 'E2b-Sandbox-Port': String(port), ...headers },
  });
}

/** A request with a Host header of our choosing (fetch does not let one set Host). */
function viaHost(
  host: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: h.gateway.port, path, headers: { host, ...headers } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('sandbox traffic', () => {
  it('routes by E2b-Sandbox-Id/Port to the agent with its token, and strips routing headers', async () => {
    const s = await sandbox();
    const res = await viaHeaders(
      s.sandboxID,
      49983,
      '/echo?x=1',
      { 'X-Access-Token': s.envdAccessToken, 'X-API-KEY': h.keyA },
      { method: 'POST', body: 'hello' },
    );
    expect(res.status).toBe(200);
    const echo = (await res.json()) as { name: string; url: string; body: string; headers: Record<string, string> };
    expect(echo.name).toBe(`envd-${s.sandboxID}`);
    expect(echo.url).toBe('/echo?x=1');
    expect(echo.body).toBe('hello');
    expect(echo.headers['e2b-sandbox-id']).toBeUndefined();
    expect(echo.headers['x-api-key']).toBeUndefined();
  });

  it('refuses the agent port without the sandbox token: an id alone runs nothing', async () => {
    const s = await sandbox();
    const other = await sandbox();
    expect((await viaHeaders(s.sandboxID, 49983, '/echo')).status).toBe(401);
    expect((await viaHeaders(s.sandboxID, 49983, '/echo', { 'X-Access-Token': other.envdAccessToken })).status).toBe(
      401,
    );
    expect((await viaHeaders(s.sandboxID, 49999, '/execute', { 'X-Access-Token': 'x' })).status).toBe(401);
  });

  it('lets the code interpreter SDK manage contexts without the token, as it sends them, but not execute', async () => {
    const s = await sandbox();
    // Past the check (no interpreter listens in this test's backend: 502), not refused (401).
    expect((await viaHeaders(s.sandboxID, 49999, '/contexts')).status).toBe(502);
    expect((await viaHeaders(s.sandboxID, 49999, '/contexts/abc/restart')).status).toBe(502);
    expect((await viaHeaders(s.sandboxID, 49999, '/contextsx')).status).toBe(401);
    expect((await viaHeaders(s.sandboxID, 49999, '/execute')).status).toBe(401);
    const closed = await sandbox({ network: { allowPublicTraffic: false } });
    expect((await viaHeaders(closed.sandboxID, 49999, '/contexts')).status).toBe(401);
  });

  it('accepts a file URL signed with the token, and refuses an expired or forged one', async () => {
    const s = await sandbox();
    const sign = (path: string, op: string, user: string, exp?: number) =>
      `v1_${createHash('sha256')
        .update(
          exp === undefined
            ? `${path}:${op}:${user}:${s.envdAccessToken}`
            : `${path}:${op}:${user}:${s.envdAccessToken}:${exp}`,
        )
        .digest('base64')
        .replace(/=+$/, '')}`;
    const ok = `/files?path=%2Ftmp%2Fa&username=user&signature=${encodeURIComponent(sign('/tmp/a', 'read', 'user'))}`;
    expect((await viaHeaders(s.sandboxID, 49983, ok)).status).toBe(200);
    const past = Math.floor(Date.now() / 1000) - 10;
    const expired = `/files?path=%2Ftmp%2Fa&username=user&signature=${encodeURIComponent(sign('/tmp/a', 'read', 'user', past))}&signature_expiration=${past}`;
    expect((await viaHeaders(s.sandboxID, 49983, expired)).status).toBe(401);
    const wrongOp = `/files?path=%2Ftmp%2Fa&username=user&signature=${encodeURIComponent(sign('/tmp/a', 'write', 'user'))}`;
    expect((await viaHeaders(s.sandboxID, 49983, wrongOp)).status).toBe(401);
  });

  it('routes <port>-<id>.<domain> host names to any port, public by default', async () => {
    const s = await sandbox();
    const r = await viaHost(`8000-${s.sandboxID}.sandbox.test`, '/hello');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ name: `app-${s.sandboxID}`, port: 8000, url: '/hello' });
    expect((await viaHost(`8000-${s.sandboxID}.elsewhere.test`, '/hello')).status).toBe(401); // not a sandbox host: API, no key
  });

  it('needs the traffic token on user ports when public traffic is off', async () => {
    const s = await sandbox({ network: { allowPublicTraffic: false } });
    expect(s.trafficAccessToken).toMatch(/^[0-9a-f]{48}$/);
    expect((await viaHost(`8000-${s.sandboxID}.sandbox.test`, '/')).status).toBe(401);
    const ok = await viaHost(`8000-${s.sandboxID}.sandbox.test`, '/', {
      'e2b-traffic-access-token': s.trafficAccessToken!,
    });
    expect(ok.status).toBe(200);
  });

  it('streams a response as it is produced', async () => {
    const s = await sandbox();
    const res = await viaHeaders(s.sandboxID, 49983, '/stream', { 'X-Access-Token': s.envdAccessToken });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('"n":1');
    await viaHeaders(s.sandboxID, 49983, '/release', { 'X-Access-Token': s.envdAccessToken });
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain('"n":2');
  });

  it('answers 404 for an unknown sandbox, 409 for a paused one, 400 for bad routing headers', async () => {
    expect((await viaHeaders('a'.repeat(20), 49983, '/health')).status).toBe(404);
    const s = await sandbox();
    await h.api(`/sandboxes/${s.sandboxID}/pause`, { method: 'POST' });
    expect((await viaHeaders(s.sandboxID, 49983, '/health', { 'X-Access-Token': s.envdAccessToken })).status).toBe(409);
    expect((await viaHeaders('../etc', 49983, '/health')).status).toBe(400);
    expect((await viaHeaders(s.sandboxID, 99999, '/health')).status).toBe(400);
  });
});
