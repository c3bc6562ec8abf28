import { afterEach, describe, expect, it } from 'vitest';
import { RequestLimiter } from '../src/auth/request-limits.ts';
import { startHarness, type Harness } from './support/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const create = (key?: string, templateID = 'base') =>
  h!.api('/v2/sandboxes', { method: 'POST', body: JSON.stringify({ templateID, timeout: 60 }), key });

describe('capacity', () => {
  it('refuses creates past the host, team and memory limits with 429 and Retry-After, creating nothing', async () => {
    h = await startHarness({
      limits: { maxSandboxes: 3, maxSandboxesPerTeam: 2, maxMemoryMB: 1000, maxTimeoutSeconds: 3600 },
    });
    expect((await create()).status).toBe(201);
    expect((await create()).status).toBe(201);
    const team = await create();
    expect(team.status).toBe(429);
    expect(team.headers.get('retry-after')).toBe('5');
    expect(((await team.json()) as { message: string }).message).toMatch(/team limit/);
    const memory = await create(h.keyB, 'code-interpreter-v1'); // 512 + 2 × 256 > 1000
    expect(memory.status).toBe(429);
    expect(((await memory.json()) as { message: string }).message).toMatch(/memory/);
    expect((await create(h.keyB)).status).toBe(201);
    const host = await create(h.keyB);
    expect(((await host.json()) as { message: string }).message).toMatch(/host limit/);
    expect(h.backend.created).toBe(3);
    expect(h.gateway.store.countSandboxes()).toBe(3);
  });

  it('a paused sandbox does not hold capacity, and resuming it needs capacity again', async () => {
    h = await startHarness({
      limits: { maxSandboxes: 1, maxSandboxesPerTeam: 1, maxMemoryMB: 4096, maxTimeoutSeconds: 3600 },
    });
    const id = ((await (await create()).json()) as { sandboxID: string }).sandboxID;
    await h.api(`/sandboxes/${id}/pause`, { method: 'POST' });
    const other = ((await (await create()).json()) as { sandboxID: string }).sandboxID;
    const resume = await h.api(`/sandboxes/${id}/connect`, { method: 'POST', body: '{}' });
    expect(resume.status).toBe(429);
    expect(h.gateway.store.getSandbox(id)?.state).toBe('paused');
    await h.api(`/sandboxes/${other}`, { method: 'DELETE' });
    expect((await h.api(`/sandboxes/${id}/connect`, { method: 'POST', body: '{}' })).status).toBe(201);
  });
});

describe('request limits', () => {
  it('answers 429 with Retry-After once a key exceeds its rate, without touching another key', async () => {
    h = await startHarness({ requests: { ratePerSecond: 1, burst: 3, concurrent: 10 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await h.api('/v2/sandboxes')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const refused = await h.api('/v2/sandboxes');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await h.api('/v2/sandboxes', { key: h.keyB })).status).toBe(200);
  });

  it('limits requests in flight per key', () => {
    const limiter = new RequestLimiter({ ratePerSecond: 1000, burst: 1000, concurrent: 2 });
    const a = limiter.admit('k', 0);
    const b = limiter.admit('k', 0);
    const c = limiter.admit('k', 0);
    expect([a.ok, b.ok, c.ok]).toEqual([true, true, false]);
    if (a.ok) a.release();
    expect(limiter.admit('k', 0).ok).toBe(true);
  });
});
