import type { Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QmpClient } from '../../src/hypervisor/qemu/qmp.ts';
import { awaitMigration } from '../../src/hypervisor/qemu/migration.ts';
import { fakeQemu } from './fake-qmp.ts';

let dir: string;
let server: Server | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cpt-qmp-'));
});
afterEach(async () => {
  server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('QmpClient', () => {
  it('negotiates capabilities first, matches replies in order and surfaces QMP errors', async () => {
    const seen: string[] = [];
    server = await fakeQemu(join(dir, 'q.sock'), (cmd, sock) => {
      seen.push(cmd.execute);
      if (cmd.execute === 'bogus')
        sock.write(
          JSON.stringify({ error: { class: 'CommandNotFound', desc: 'The command bogus has not been found' } }) +
            '\r\n',
        );
      else sock.write(JSON.stringify({ return: cmd.execute === 'query-status' ? { status: 'paused' } : {} }) + '\r\n');
    });
    const qmp = await QmpClient.connect(join(dir, 'q.sock'));
    const [status, stop] = await Promise.all([qmp.execute<{ status: string }>('query-status'), qmp.execute('stop')]);
    expect(status.status).toBe('paused');
    expect(stop).toEqual({});
    await expect(qmp.execute('bogus')).rejects.toThrow(/bogus has not been found/);
    expect(seen).toEqual(['qmp_capabilities', 'query-status', 'stop', 'bogus']);
    qmp.close();
  });

  it("waits for a migration by events and query-migrate, and reports a failed one with QEMU's reason", async () => {
    let polls = 0;
    let outcome = 'completed';
    server = await fakeQemu(join(dir, 'q.sock'), (cmd, sock) => {
      if (cmd.execute !== 'query-migrate') return void sock.write('{"return": {}}\r\n');
      polls++;
      if (polls < 2) {
        sock.write(JSON.stringify({ return: { status: 'active' } }) + '\r\n');
        setTimeout(() => sock.write(JSON.stringify({ event: 'MIGRATION', data: { status: outcome } }) + '\r\n'), 30);
      } else
        sock.write(
          JSON.stringify({ return: { status: outcome, 'error-desc': 'load of migration failed: Invalid argument' } }) +
            '\r\n',
        );
    });
    const qmp = await QmpClient.connect(join(dir, 'q.sock'));
    const t0 = Date.now();
    await awaitMigration(qmp, 5000);
    expect(Date.now() - t0).toBeLessThan(250); // woken by the event, not by the slow re-check timer
    expect(polls).toBe(2);
    polls = 0;
    outcome = 'failed';
    await expect(awaitMigration(qmp, 5000)).rejects.toThrow(/migration failed: load of migration failed/);
    qmp.close();
  });

  it('fails clearly when nothing listens', async () => {
    await expect(QmpClient.connect(join(dir, 'none.sock'), 500)).rejects.toThrow(/QMP connect/);
  });
});
