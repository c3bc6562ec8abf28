/**
 * coppice-clone-helper, the real program compiled from the guest's source, and the agent's client of it. On the host
 * it runs as `nobody` with no capabilities, so every valid request reaches the real syscall and is refused by the
 * kernel (EPERM) instead of changing the host's clock or entropy pool; the guest tests (sandbox-host) check that it
 * works as root in a clone.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloneHelper } from '../src/clone-helper.ts';

const SOURCE = fileURLToPath(new URL('../../runtime/guest/clone-helper/coppice-clone-helper.c', import.meta.url));
let dir: string;
let binary: string;
let unprivileged: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cpenvd-clonehelper-'));
  binary = join(dir, 'coppice-clone-helper');
  await promisify(execFile)('gcc', ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', binary, SOURCE]);
  unprivileged = join(dir, 'as-nobody');
  await writeFile(
    unprivileged,
    `#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all ${binary}\n`,
  );
  await chmod(unprivileged, 0o755);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the helper on `input` as nobody and returns its reply lines and exit status. */
function converse(input: string): { replies: string[]; status: number | null } {
  const r = spawnSync(unprivileged, [], { input, encoding: 'utf8', timeout: 10_000 });
  return { replies: r.stdout.split('\n').filter(Boolean), status: r.status };
}

describe('coppice-clone-helper', () => {
  it('answers every line in order and exits 0 when its input ends', () => {
    const { replies, status } = converse(
      ['clock 1796666400 250000000', `reseed ${'ab'.repeat(16)}`, 'clock 1 2'].join('\n') + '\n',
    );
    expect(replies).toEqual([
      'error Operation not permitted',
      'error Operation not permitted',
      'error Operation not permitted',
    ]);
    expect(status).toBe(0);
  });

  it('refuses malformed requests by name, before any syscall', () => {
    const seconds = 'error clock: SECONDS must be a decimal number 0..2^40';
    const nanos = 'error clock: NANOSECONDS must be a decimal 0..999999999';
    const hex = 'error reseed: HEX must be 16..512 bytes as lowercase hex';
    const unknown = 'error unknown request (known: clock, reseed)';
    const cases: [string, string][] = [
      ['clock 1', 'error clock needs SECONDS NANOSECONDS'],
      ['clock -1 0', seconds],
      ['clock 99999999999999 0', seconds],
      ['clock 0x10 0', seconds],
      ['clock 1 1000000000', nanos],
      ['clock 1 2 3', nanos],
      [`reseed ${'ab'.repeat(15)}`, hex],
      [`reseed ${'ab'.repeat(513)}`, hex],
      [`reseed ${'AB'.repeat(16)}`, hex],
      [`reseed ${'a'.repeat(33)}`, hex],
      ['clock', unknown],
      ['reseed', unknown],
      ['date 1', unknown],
      ['', unknown],
    ];
    const { replies, status } = converse(cases.map(([line]) => line).join('\n') + '\n');
    expect(replies).toEqual(cases.map(([, reply]) => reply));
    expect(status).toBe(0);
  });

  it('refuses an over-long line whole and a last line without a newline', () => {
    const long = `reseed ${'a'.repeat(5000)}\n`;
    expect(converse(`${long}clock 1 x\nclock 1 1`).replies).toEqual([
      'error request too long or not ended by a newline',
      'error clock: NANOSECONDS must be a decimal 0..999999999',
      'error request too long or not ended by a newline',
    ]);
  });
});

describe('CloneHelper (the agent side)', () => {
  it('sends each request and settles each promise with its own reply, pipelined', async () => {
    const helper = new CloneHelper(unprivileged);
    try {
      const results = await Promise.allSettled([
        helper.setClock(new Date('2026-12-08T00:00:00.125Z')),
        helper.reseed(Buffer.alloc(8)),
        helper.reseed(Buffer.alloc(16, 7)),
      ]);
      expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok'))).toEqual([
        'clone helper: Operation not permitted',
        'clone helper: reseed: HEX must be 16..512 bytes as lowercase hex',
        'clone helper: Operation not permitted',
      ]);
    } finally {
      helper.close();
    }
  });

  it('refuses a time before 1970 without asking the helper', async () => {
    const helper = new CloneHelper(unprivileged);
    expect(() => helper.setClock(new Date(-1000))).toThrow(/cannot set the clock/);
    helper.close();
  });

  it('starts the helper again after it died, and fails what was waiting', async () => {
    const helper = new CloneHelper(unprivileged);
    try {
      helper.start();
      const pid = helper.pid!;
      expect(pid).toBeGreaterThan(0);
      const waiting = helper.setClock(new Date());
      process.kill(pid, 'SIGKILL');
      // Either the reply raced the kill or the death is reported; never a hang.
      await expect(waiting).rejects.toThrow(/Operation not permitted|exited \(SIGKILL\)/);
      await expect(helper.reseed(Buffer.alloc(16))).rejects.toThrow('clone helper: Operation not permitted');
      expect(helper.pid).not.toBe(pid);
    } finally {
      helper.close();
    }
  });

  it('names a helper that cannot start', async () => {
    const helper = new CloneHelper(join(dir, 'absent'));
    await expect(helper.reseed(Buffer.alloc(16))).rejects.toThrow(/clone helper .*absent failed: spawn .*ENOENT/);
  });
});
