import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsReader } from '../src/metrics.ts';
import { startTestAgent, type TestAgent } from './helpers/agent.ts';

let agent: TestAgent | undefined;
let dir: string | undefined;
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

const meminfo = (availableKb: number) =>
  `MemTotal:        1000 kB\nMemFree:          100 kB\nMemAvailable:     ${availableKb} kB\nCached:           300 kB\n`;

describe('GET /metrics', () => {
  it('reports CPU use between calls and memory from /proc', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cpe2e-metrics-'));
    await writeFile(join(dir, 'meminfo'), meminfo(400));
    await writeFile(join(dir, 'stat'), 'cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3\n');
    const reader = new MetricsReader(dir, dir);
    const first = await reader.read();
    expect(first).toMatchObject({
      cpu_used_pct: 20,
      mem_total: 1000 * 1024,
      mem_used: 600 * 1024,
      mem_cache: 300 * 1024,
    });
    // 300 more busy jiffies, 100 more idle: 75 % busy since the last call.
    await writeFile(join(dir, 'stat'), 'cpu  250 0 250 900 0 0 0 0 0 0\n');
    expect((await reader.read()).cpu_used_pct).toBe(75);
    await writeFile(join(dir, 'stat'), 'no cpu line\n');
    await expect(reader.read()).rejects.toThrow(/no cpu line/);
  });

  it('serves the real numbers behind the access token', async () => {
    agent = await startTestAgent();
    await fetch(`${agent.baseUrl}/init`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accessToken: 'tok-m' }),
    });
    expect((await fetch(`${agent.baseUrl}/metrics`)).status).toBe(401);
    const res = await fetch(`${agent.baseUrl}/metrics`, { headers: { 'x-access-token': 'tok-m' } });
    expect(res.status).toBe(200);
    const m = (await res.json()) as Record<string, number>;
    expect(m.cpu_count).toBeGreaterThan(0);
    expect(m.mem_total).toBeGreaterThan(m.mem_used!);
    expect(m.disk_total).toBeGreaterThan(0);
    expect(
      (await fetch(`${agent.baseUrl}/metrics`, { method: 'POST', headers: { 'x-access-token': 'tok-m' } })).status,
    ).toBe(405);
  });
});
