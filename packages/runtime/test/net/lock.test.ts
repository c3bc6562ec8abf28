/**
 * The controller lock under contention: many processes race for it at once, exactly one wins each round, and the
 * lock of a holder killed with SIGKILL is free again (the kernel releases it; nothing stale to take over).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { acquireLock, LockHeldError } from '../../src/net/lock.ts';
import { tempDir } from './helpers.ts';

const CONTENDER = fileURLToPath(new URL('./fixtures/lock-contender.ts', import.meta.url));
const CONTENDERS = 20;
const ROUNDS = 6;

interface Contender {
  proc: ChildProcess;
  next(): Promise<string>;
  send(line: string): void;
}

function startContender(lockPath: string): Contender {
  const proc = spawn(process.execPath, ['--import', 'tsx', CONTENDER, lockPath], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const queue: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else queue.push(line);
  });
  return {
    proc,
    next: () => {
      const line = queue.shift();
      return line !== undefined ? Promise.resolve(line) : new Promise((resolve) => waiting.push(resolve));
    },
    send: (line) => proc.stdin!.write(`${line}\n`),
  };
}

describe('acquireLock', () => {
  const cleanups: Array<() => Promise<void>> = [];
  const contenders: Contender[] = [];
  afterEach(async () => {
    for (const c of contenders.splice(0))
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    for (const c of cleanups.splice(0)) await c();
  });
  afterAll(() => {
    for (const c of contenders) c.proc.kill('SIGKILL');
  });

  it(`lets exactly one of ${CONTENDERS} racing processes win, round after round, and frees a SIGKILLed holder's lock`, async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const lockPath = join(dir.path, 'race.lock');
    for (let i = 0; i < CONTENDERS; i++) contenders.push(startContender(lockPath));
    for (const c of contenders) expect(await c.next()).toBe('ready');
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of contenders) c.send('go');
      const replies = await Promise.all(contenders.map((c) => c.next()));
      const winners = contenders.filter((_, i) => replies[i] === 'won');
      expect(winners.length, `round ${round}: ${replies.join(', ')}`).toBe(1);
      const winner = winners[0]!;
      // A loser names the holder by pid, or as unknown when it looked before the winner wrote its pid.
      for (const r of replies.filter((r) => r !== 'won')) expect(r).toMatch(/^held (\d+|undefined)$/);
      if (round % 2 === 1) {
        // Killed holder: the next round must find the lock free, with no stale file to clean up first.
        winner.proc.kill('SIGKILL');
        await new Promise((resolve) => winner.proc.once('exit', resolve));
        const replacement = startContender(lockPath);
        expect(await replacement.next()).toBe('ready');
        contenders[contenders.indexOf(winner)] = replacement;
      } else {
        winner.send('release');
        expect(await winner.next()).toBe('released');
      }
    }
  });

  it('reports the holder by pid, also to a second acquire in the same process', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const lockPath = join(dir.path, 'same.lock');
    const unlock = await acquireLock(lockPath);
    expect((await readFile(lockPath, 'utf8')).trim()).toBe(String(process.pid));
    const err = await acquireLock(lockPath).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as LockHeldError).pid).toBe(process.pid);
    expect((err as Error).message).toContain(String(process.pid));
    await unlock();
    const again = await acquireLock(lockPath);
    await again();
  });

  it('takes a lock file nobody holds, whatever it contains (an empty file or a dead pid is not a holder)', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    for (const content of ['', '999999999\n', 'garbage']) {
      const lockPath = join(dir.path, `left-${content.length}.lock`);
      await writeFile(lockPath, content);
      const unlock = await acquireLock(lockPath);
      expect((await readFile(lockPath, 'utf8')).trim()).toBe(String(process.pid));
      await unlock();
    }
  });
});
