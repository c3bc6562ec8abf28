import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../src/store/migrations.ts';
import { Store, StoreCorruptError } from '../src/store/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'cpgw-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sandbox = (id: string, teamId: string) => ({
  id,
  teamId,
  templateId: 'base',
  clientId: 'coppice',
  state: 'running' as const,
  metadata: { a: 'b' },
  envVars: {},
  envdToken: 't',
  trafficToken: 'u',
  network: { allowInternetAccess: true, allowOut: [], denyOut: [], allowPublicTraffic: true },
  autoPause: false,
  startedAt: 1,
  endAt: 2,
  address: '10.0.0.2',
  cpuCount: 1,
  memoryMB: 256,
  diskMB: 1024,
  envdVersion: '0.6.4',
});

describe('store', () => {
  it('migrates a new database to the latest version and keeps its rows across reopen', () => {
    const path = join(dir, 'a.db');
    const s = Store.open(path);
    expect(s.schemaVersion()).toBe(MIGRATIONS.length);
    const team = s.createTeam('t');
    s.insertSandbox(sandbox('a'.repeat(20), team.id));
    s.close();
    const again = Store.open(path);
    expect(again.getSandbox('a'.repeat(20))?.metadata).toEqual({ a: 'b' });
    again.close();
  });

  it('refuses a database newer than the gateway', () => {
    const path = join(dir, 'b.db');
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => Store.open(path)).toThrow(/newer than this gateway/);
  });

  it('names the row and column of a corrupt JSON field', () => {
    const path = join(dir, 'c.db');
    const s = Store.open(path);
    const team = s.createTeam('t');
    s.insertSandbox(sandbox('c'.repeat(20), team.id));
    s.close();
    const db = new Database(path);
    db.prepare('UPDATE sandboxes SET network = ? WHERE id = ?').run('{"allowOut": 3}', 'c'.repeat(20));
    db.close();
    const again = Store.open(path);
    expect(() => again.getSandbox('c'.repeat(20))).toThrow(StoreCorruptError);
    expect(() => again.getSandbox('c'.repeat(20))).toThrow(/sandboxes\.network of c{20}/);
    again.close();
  });

  it('transition moves only from the states named', () => {
    const s = Store.open(':memory:');
    const team = s.createTeam('t');
    s.insertSandbox(sandbox('d'.repeat(20), team.id));
    expect(s.transition('d'.repeat(20), ['paused'], 'resuming')).toBe(false);
    expect(s.transition('d'.repeat(20), ['running'], 'pausing')).toBe(true);
    expect(s.getSandbox('d'.repeat(20))?.state).toBe('pausing');
    s.close();
  });
});
