import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { teamForKey } from '../src/auth/api-keys.ts';
import { Store } from '../src/store/store.ts';

const run = promisify(execFile);
const bin = join(import.meta.dirname, '..', 'bin', 'coppice-gateway.js');
const dir = mkdtempSync(join(tmpdir(), 'cpgw-cli-'));
const db = join(dir, 'gateway.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => run(process.execPath, [bin, ...args, '--db', db]);

describe('coppice-gateway keys', () => {
  it('creates a key that authenticates its team, lists it masked, and revokes it', async () => {
    const created = JSON.parse((await cli('keys', 'create', '--team', 'ops', '--name', 'ci', '--json')).stdout) as {
      key: string;
      id: string;
    };
    expect(created.key).toMatch(/^e2b_[0-9a-f]{40}$/);
    let store = Store.open(db);
    expect(teamForKey(store, created.key)?.name).toBe('ops');
    store.close();
    const listed = (await cli('keys', 'list')).stdout;
    expect(listed).toContain(created.id);
    expect(listed).not.toContain(created.key);
    expect((await cli('keys', 'revoke', created.id)).stdout).toContain('revoked');
    store = Store.open(db);
    expect(teamForKey(store, created.key)).toBeUndefined();
    store.close();
  });

  it('refuses bad input with a usage error and exit code 2', async () => {
    await expect(cli('keys', 'create')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--team') });
    await expect(cli('keys', 'create', '--team', 'Bad Team!')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('invalid team name'),
    });
    await expect(cli('keys', 'frobnicate')).rejects.toMatchObject({ code: 2 });
    await expect(cli('keys', 'revoke', 'nope')).rejects.toMatchObject({ code: 1 });
  });
});
