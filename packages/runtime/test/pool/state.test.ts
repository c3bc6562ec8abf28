import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PoolStateFile, type PoolState } from '../../src/pool/state.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cpt-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entry = (id: string) => ({ id, tier: 'hot' as const, status: 'idle' as const, createdAt: '2026-01-01T00:00:00.000Z' });

describe('pool state file and checkout journal', () => {
  it('a journaled checkout is seen by the next load even though the state file was not rewritten', async () => {
    const state: PoolState = { version: 1, template: 't', mode: 'prewarm', entries: [entry('t-00000001'), entry('t-00000002')] };
    const file = new PoolStateFile(dir, 't');
    await file.save(() => state);
    file.journalCheckout('t-00000002', '2026-01-01T00:00:01.000Z');
    // No close(), no save: what a successor of a SIGKILLed controller finds.
    const seen = await new PoolStateFile(dir, 't').load();
    expect(seen!.entries.map((e) => [e.id, e.status, e.checkedOutAt])).toEqual([
      ['t-00000001', 'idle', undefined],
      ['t-00000002', 'checked-out', '2026-01-01T00:00:01.000Z'],
    ]);
    await file.close();
  });

  it('a save that covers every journal line empties the journal; one that does not keeps it', async () => {
    const state: PoolState = { version: 1, template: 't', mode: 'prewarm', entries: [entry('t-00000001'), entry('t-00000002')] };
    const file = new PoolStateFile(dir, 't');
    file.journalCheckout('t-00000001', '2026-01-01T00:00:01.000Z');
    state.entries[0]!.status = 'checked-out';
    // A checkout journaled while the write is in flight (after its snapshot was taken) is not covered: its line stays.
    await file.save(() => {
      const taken = structuredClone(state);
      queueMicrotask(() => file.journalCheckout('t-00000002', '2026-01-01T00:00:02.000Z'));
      return taken;
    });
    expect((await readFile(file.path, 'utf8')).includes('"t-00000002","tier":"hot","status":"idle"')).toBe(true);
    expect(await readFile(file.journalPath, 'utf8')).toContain('t-00000002');
    state.entries[1]!.status = 'checked-out';
    await file.save(() => state);
    expect(await readFile(file.journalPath, 'utf8')).toBe('');
    await file.close();
  });

  it('a torn state file is refused with its path, and nothing is changed', async () => {
    await writeFile(join(dir, 't.json'), '{"version":1,"entr');
    await expect(new PoolStateFile(dir, 't').load()).rejects.toThrow(/t\.json: not a pool state file .*nothing was changed/);
    expect(await readFile(join(dir, 't.json'), 'utf8')).toBe('{"version":1,"entr');
  });
});
