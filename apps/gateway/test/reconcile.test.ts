import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const create = (body: Record<string, unknown> = {}) =>
  h!.api('/v2/sandboxes', { method: 'POST', body: JSON.stringify({ templateID: 'base', timeout: 60, ...body }) });

describe('restart', () => {
  it('re-adopts running sandboxes with their timers, keeps paused ones resumable, kills orphans', async () => {
    h = await startHarness();
    const running = ((await (await create({ timeout: 2 })).json()) as { sandboxID: string }).sandboxID;
    const paused = ((await (await create()).json()) as { sandboxID: string }).sandboxID;
    await h.api(`/sandboxes/${paused}/pause`, { method: 'POST' });
    await h.backend.create({
      id: 'orphan0000000000000x',
      templateId: 'base',
      envVars: {},
      envdToken: 't',
      network: { allowInternetAccess: true, allowOut: [], denyOut: [], allowPublicTraffic: true },
    });
    await h.restart();
    expect(h.gateway.reconciled.adopted.sort()).toEqual([paused, running].sort());
    expect(h.gateway.reconciled.orphansKilled).toEqual(['orphan0000000000000x']);
    expect((await h.api(`/sandboxes/${running}`)).status).toBe(200);
    expect((await h.api(`/sandboxes/${paused}/connect`, { method: 'POST', body: '{}' })).status).toBe(201);
    await new Promise((r) => setTimeout(r, 2500)); // the re-armed timer kills the first
    expect(h.gateway.store.getSandbox(running)).toBeUndefined();
  });

  it('rolls back a create that was in flight when the gateway died', async () => {
    h = await startHarness();
    let release!: () => void;
    h.backend.gate = new Promise<void>((r) => (release = r));
    const pending = create().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    const [row] = h.gateway.store.allSandboxes();
    expect(row?.state).toBe('creating');
    // What a SIGKILL leaves: the row, and whatever the backend had started. Restart on the same database.
    h.backend.gate = undefined;
    release();
    await pending;
    h.gateway.store.transition(row!.id, ['running'], 'creating');
    await h.restart();
    expect(h.gateway.reconciled.rolledBack).toEqual([row!.id]);
    expect(h.gateway.store.allSandboxes()).toEqual([]);
    expect(h.backend.live.size).toBe(0);
  });

  it('drops a running record whose sandbox the backend no longer has', async () => {
    h = await startHarness();
    const id = ((await (await create()).json()) as { sandboxID: string }).sandboxID;
    await h.backend.kill(id);
    await h.restart();
    expect(h.gateway.reconciled.lost).toEqual([id]);
    expect((await h.api(`/sandboxes/${id}`)).status).toBe(404);
  });

  it('drops a paused record whose snapshot the backend no longer has', async () => {
    h = await startHarness();
    const id = ((await (await create()).json()) as { sandboxID: string }).sandboxID;
    await h.api(`/sandboxes/${id}/pause`, { method: 'POST' });
    h.backend.snapshots.clear();
    await h.restart();
    expect(h.gateway.reconciled.lost).toEqual([id]);
    expect((await h.api(`/sandboxes/${id}`)).status).toBe(404);
  });
});
