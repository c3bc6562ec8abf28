import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rigLayout, TEMPLATE, type RigLayout } from '../../src/rigs/e2b-latency/layout.ts';
import { leakFree, leakReport } from '../../src/rigs/e2b-latency/leaks.ts';

// The leak reader on a layout written by hand: what the pool and cubenet leave on disk with only idle entries, then
// each kind of leftover added on its own. No QEMU runs from these folders, so no VM is counted.
describe('e2b-latency leak report', () => {
  let dir: string;
  let l: RigLayout;

  const checkpoint = (name: string) => ({
    path: join(l.stateDir, TEMPLATE, `${name}.state`),
    files: [join(l.stateDir, TEMPLATE, `${name}.state`)],
  });
  const entry = (id: string, status: 'idle' | 'checked-out' | 'paused', extra: object = {}) => ({
    id,
    tier: 'durable',
    status,
    createdAt: new Date(0).toISOString(),
    net: { id: `net${id}`, vm: {} },
    checkpoint: checkpoint(id),
    ...extra,
  });

  async function writeLayout(
    entries: object[],
    netIds: string[],
    extraRunDirs: string[] = [],
    extraCheckpoints: string[] = [],
  ) {
    await mkdir(join(l.stateDir, TEMPLATE), { recursive: true });
    await mkdir(join(l.stateDir, 'net', 'cpy'), { recursive: true });
    await mkdir(join(l.runRoot, TEMPLATE), { recursive: true });
    await writeFile(
      join(l.stateDir, `${TEMPLATE}.json`),
      JSON.stringify({
        version: 1,
        template: TEMPLATE,
        mode: 'two-tier',
        base: checkpoint(`${TEMPLATE}-base`),
        entries,
      }),
    );
    for (const f of [`${TEMPLATE}-base`, ...(entries as Array<{ id: string }>).map((e) => e.id), ...extraCheckpoints])
      await writeFile(join(l.stateDir, TEMPLATE, `${f}.state`), '');
    for (const id of netIds) await writeFile(join(l.stateDir, 'net', 'cpy', `${id}.0.json`), '{}');
    for (const d of extraRunDirs) await mkdir(join(l.runRoot, TEMPLATE, d));
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coppice-e2bl-leaks-'));
    l = rigLayout(dir, join(dir, 'run'), { hot: 0, durable: 2, refillConcurrency: 1 }, 512, 4);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads idle entries and their endpoints and checkpoints as no leak', async () => {
    await writeLayout([entry('a1', 'idle'), entry('a2', 'idle')], ['neta1', 'neta2']);
    const r = await leakReport(l, 0);
    expect(r).toMatchObject({ vms: 0, endpoints: 0, layers: 0, poolEntries: 0, gatewayRows: 0 });
    expect(leakFree(r)).toBe(true);
  });

  it('counts each leftover: an endpoint, a run folder, a checkpoint file, an entry still out, a gateway row', async () => {
    await writeLayout(
      [entry('a1', 'idle'), entry('a2', 'checked-out', { label: 'sbx1' })],
      ['neta1', 'neta2', 'netstray'],
      ['stray-run'],
      ['stray-cp'],
    );
    const r = await leakReport(l, 3);
    expect(r).toMatchObject({ vms: 0, endpoints: 1, layers: 2, poolEntries: 1, gatewayRows: 3 });
    expect(r.detail).toContain('netstray');
    expect(r.detail).toContain('a2:checked-out:sbx1');
    expect(leakFree(r)).toBe(false);
  });
});
