import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

async function create(body: unknown = { templateID: 'base', timeout: 60 }, key?: string) {
  const res = await h.api('/v2/sandboxes', { method: 'POST', body: JSON.stringify(body), key });
  return { res, json: (await res.json()) as Record<string, any> };
}

describe('authentication', () => {
  it('refuses a missing, malformed, unknown or revoked key with 401 and a JSON error', async () => {
    for (const key of [null, 'nope', `e2b_${'0'.repeat(40)}`]) {
      const res = await h.api('/v2/sandboxes', { key });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { code: number; message: string };
      expect(body.code).toBe(401);
      expect(body.message).toMatch(/API key/);
    }
    const keys = h.gateway.store.listApiKeys();
    const a = keys.find((k) => k.teamName === 'team-a')!;
    expect(h.gateway.store.revokeApiKey(a.id)).toBe(true);
    expect((await h.api('/v2/sandboxes')).status).toBe(401);
  });

  it('stores only a hash of each key', async () => {
    const keys = h.gateway.store.listApiKeys();
    expect(keys).toHaveLength(2);
    for (const k of keys) expect(k.mask).not.toContain(h.keyA.slice(8, -4));
  });
});

describe('create', () => {
  it('gives a sandbox 300 s when its create names no timeout, as the e2b SDK leaves it out', async () => {
    const before = Date.now();
    const { res, json } = await create({ templateID: 'base' });
    expect(res.status).toBe(201);
    const info = (await (await h.api(`/sandboxes/${json.sandboxID}`)).json()) as { endAt: string };
    const seconds = (Date.parse(info.endAt) - before) / 1000;
    expect(seconds).toBeGreaterThan(299);
    expect(seconds).toBeLessThan(320);
  });

  it('returns what the SDK reads, and the sandbox answers through the proxy', async () => {
    const { res, json } = await create({
      templateID: 'base',
      timeout: 60,
      metadata: { who: 'test' },
      envVars: { A: '1' },
    });
    expect(res.status).toBe(201);
    expect(json).toMatchObject({
      templateID: 'base',
      clientID: 'coppice',
      envdVersion: '0.6.4',
      domain: 'sandbox.test',
    });
    expect(json.sandboxID).toMatch(/^[a-z0-9]{20}$/);
    expect(json.envdAccessToken).toMatch(/^[0-9a-f]{48}$/);
    expect(h.backend.live.get(json.sandboxID)?.spec.envVars).toEqual({ A: '1' });
    const info = await (await h.api(`/sandboxes/${json.sandboxID}`)).json();
    expect(info).toMatchObject({
      sandboxID: json.sandboxID,
      state: 'running',
      metadata: { who: 'test' },
      memoryMB: 256,
    });
  });

  it('takes the v1 path and a template alias', async () => {
    const res = await h.api('/sandboxes', { method: 'POST', body: JSON.stringify({ templateID: 'code-interpreter' }) });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { templateID: string }).templateID).toBe('code-interpreter-v1');
  });

  it('refuses bad bodies with 400 naming the field, and creates nothing', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ templateID: 'base', timeout: -1 }, /timeout/],
      [{ templateID: 'base', envVars: { 'BAD NAME': 'x' } }, /envVars/],
      [{ templateID: 'base', network: { allowOut: ['example.com; rm -rf /'] } }, /network\.allowOut/],
      [{ templateID: 'base', volumeMounts: [{ name: 'v', path: '/data' }] }, /volumeMounts/],
      [{ templateID: 'base', timeout: 10 ** 9 }, /timeout/],
    ];
    for (const [body, field] of cases) {
      const { res, json } = await create(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(json.message).toMatch(field);
    }
    const notJson = await h.api('/v2/sandboxes', { method: 'POST', body: '{not json' });
    expect(notJson.status).toBe(400);
    expect((await create({ templateID: 'no-such-template' })).res.status).toBe(404);
    expect(h.backend.created).toBe(0);
    expect(h.gateway.store.countSandboxes()).toBe(0);
  });

  it('refuses a body over the limit with 413', async () => {
    const big = JSON.stringify({ templateID: 'base', metadata: { k: 'x'.repeat(2 * 1024 * 1024) } });
    const res = await h.api('/v2/sandboxes', { method: 'POST', body: big });
    expect(res.status).toBe(413);
    expect(h.backend.created).toBe(0);
  });

  it('rolls back a create the backend fails, leaving no record', async () => {
    h.backend.failNextCreate = new Error('no VM for you');
    const { res, json } = await create();
    expect(res.status).toBe(503);
    expect(json.message).toMatch(/no VM for you/);
    expect(h.gateway.store.allSandboxes()).toEqual([]);
    expect(h.backend.live.size).toBe(0);
  });
});

describe('team isolation', () => {
  it('answers 404 to every endpoint for another team’s sandbox, and changes nothing', async () => {
    const { json } = await create();
    const id = json.sandboxID as string;
    const other = h.keyB;
    const calls: Array<[string, string, unknown?]> = [
      ['GET', `/sandboxes/${id}`],
      ['DELETE', `/sandboxes/${id}`],
      ['POST', `/sandboxes/${id}/timeout`, { timeout: 1 }],
      ['POST', `/sandboxes/${id}/pause`],
      ['POST', `/sandboxes/${id}/connect`, { timeout: 10 }],
      ['POST', `/v2/sandboxes/${id}/connect`, { timeout: 10 }],
      ['POST', `/sandboxes/${id}/resume`, {}],
      ['GET', `/sandboxes/${id}/metrics`],
    ];
    for (const [method, path, body] of calls) {
      const res = await h.api(path, {
        method,
        key: other,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const listed = (await (await h.api('/v2/sandboxes', { key: other })).json()) as unknown[];
    expect(listed).toEqual([]);
    expect(h.gateway.store.getSandbox(id)?.state).toBe('running');
    expect(h.backend.live.has(id)).toBe(true);
  });
});

describe('lifecycle', () => {
  it('kills, then answers 404', async () => {
    const { json } = await create();
    expect((await h.api(`/sandboxes/${json.sandboxID}`, { method: 'DELETE' })).status).toBe(204);
    expect(h.backend.live.size).toBe(0);
    expect((await h.api(`/sandboxes/${json.sandboxID}`)).status).toBe(404);
    expect((await h.api(`/sandboxes/${json.sandboxID}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('pauses (409 the second time), lists it paused, and connect resumes it with 201', async () => {
    const { json } = await create();
    const id = json.sandboxID as string;
    expect((await h.api(`/sandboxes/${id}/pause`, { method: 'POST' })).status).toBe(204);
    expect((await h.api(`/sandboxes/${id}/pause`, { method: 'POST' })).status).toBe(409);
    expect(h.backend.live.has(id)).toBe(false);
    const paused = (await (await h.api('/v2/sandboxes?state=paused')).json()) as Array<{
      sandboxID: string;
      state: string;
    }>;
    expect(paused.map((s) => [s.sandboxID, s.state])).toEqual([[id, 'paused']]);
    const resumed = await h.api(`/v2/sandboxes/${id}/connect`, {
      method: 'POST',
      body: JSON.stringify({ timeout: 30 }),
    });
    expect(resumed.status).toBe(201);
    expect(h.backend.live.has(id)).toBe(true);
    expect(h.backend.snapshots.size).toBe(0);
    const again = await h.api(`/v2/sandboxes/${id}/connect`, { method: 'POST', body: JSON.stringify({ timeout: 30 }) });
    expect(again.status).toBe(200);
  });

  it('kills a sandbox when its timeout expires, or pauses it with autoPause', async () => {
    const killed = (await create({ templateID: 'base', timeout: 1 })).json.sandboxID as string;
    const paused = (await create({ templateID: 'base', timeout: 1, autoPause: true })).json.sandboxID as string;
    await new Promise((r) => setTimeout(r, 1600));
    expect(h.gateway.store.getSandbox(killed)).toBeUndefined();
    expect(h.gateway.store.getSandbox(paused)?.state).toBe('paused');
    expect(h.backend.live.size).toBe(0);
  });

  it('setTimeout moves the end time', async () => {
    const id = (await create({ templateID: 'base', timeout: 1 })).json.sandboxID as string;
    expect(
      (await h.api(`/sandboxes/${id}/timeout`, { method: 'POST', body: JSON.stringify({ timeout: 60 }) })).status,
    ).toBe(204);
    await new Promise((r) => setTimeout(r, 1400));
    expect(h.gateway.store.getSandbox(id)?.state).toBe('running');
  });

  it('lists with metadata filters and pages by X-Next-Token', async () => {
    for (let i = 0; i < 5; i++)
      await create({ templateID: 'base', timeout: 60, metadata: { group: i % 2 ? 'odd' : 'even', 'a b': 'c&d' } });
    const metadata = new URLSearchParams({
      [encodeURIComponent('a b')]: encodeURIComponent('c&d'),
      group: 'even',
    }).toString();
    const evens = (await (await h.api(`/v2/sandboxes?metadata=${encodeURIComponent(metadata)}`)).json()) as unknown[];
    expect(evens).toHaveLength(3);
    const seen: string[] = [];
    let token: string | null = null;
    do {
      const res = await h.api(`/v2/sandboxes?limit=2${token ? `&nextToken=${token}` : ''}`);
      seen.push(...((await res.json()) as Array<{ sandboxID: string }>).map((s) => s.sandboxID));
      token = res.headers.get('x-next-token');
    } while (token);
    expect(new Set(seen).size).toBe(5);
    expect((await h.api('/v2/sandboxes?nextToken=garbage')).status).toBe(400);
  });

  it('serves metrics sampled from the guest', async () => {
    const id = (await create()).json.sandboxID as string;
    await h.gateway.service.sampleAll();
    const metrics = (await (await h.api(`/sandboxes/${id}/metrics`)).json()) as Array<Record<string, unknown>>;
    expect(metrics).toHaveLength(1);
    expect(metrics[0]).toMatchObject({ cpuCount: 1, memTotal: 256 << 20 });
    expect(typeof metrics[0]!.timestamp).toBe('string');
  });

  it('lists templates', async () => {
    const t = (await (await h.api('/templates')).json()) as Array<{ templateID: string }>;
    expect(t.map((x) => x.templateID)).toEqual(['base', 'code-interpreter-v1']);
  });
});
