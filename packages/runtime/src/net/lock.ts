/**
 * One holder at a time (cubenet's prefix, each pool, the host-wide forwarding record): an exclusive flock(2) on the
 * lock file, held on an open descriptor for the holder's lifetime. The kernel decides who holds it, in one step, and
 * releases it when the holder dies (even by SIGKILL), so there is no stale lock to detect or take over. The file also
 * carries the holder's pid, for the error message only.
 *
 * Node has no flock, so a child does it on a descriptor it inherits as fd 3 (Linux: util-linux `flock -xn 3`;
 * FreeBSD: `lockf -s -t 0 3`, base system since 14.1, which flock(2)s a descriptor number). The child shares the
 * parent's open file description, and a flock belongs to the open file description, so the lock stays held by the
 * parent's descriptor after the child exits.
 *
 * A releasing holder removes the name before it closes its descriptor; a contender that opened the old file just
 * before could then lock an unlinked file, so after locking it checks that the name still leads to the file it
 * locked, and starts over if not.
 */
import { constants } from 'node:fs';
import { mkdir, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CommandError, ProcessRunner, type CommandRunner } from '../host/command-runner.ts';
import { detectPlatform } from '../host/platform.ts';

export class LockHeldError extends Error {
  constructor(
    readonly path: string,
    readonly pid: number | undefined,
  ) {
    super(
      `${path} is held by ${pid ? `running process ${pid}` : 'another process (its pid is not written yet)'} (one controller per prefix or pool; stop it or use another name)`,
    );
    this.name = 'LockHeldError';
  }
}

const runner: CommandRunner = new ProcessRunner();

/** argv that flock(2)s fd 3 exclusively without waiting; exit 0: taken. */
function lockArgv(): string[] {
  return detectPlatform() === 'freebsd' ? ['lockf', '-s', '-t', '0', '3'] : ['flock', '--exclusive', '--nonblock', '3'];
}

/** Exit codes of lockArgv() meaning "someone else holds it": flock(1) 1, lockf(1) EX_TEMPFAIL. */
const HELD_CODES = new Set([1, 75]);

async function tryFlock(fh: FileHandle): Promise<boolean> {
  const r = await runner.run(lockArgv(), { fd3: fh.fd, timeoutMs: 10_000 });
  if (r.code === 0) return true;
  if (HELD_CODES.has(r.code)) return false;
  throw new CommandError(r);
}

async function holderPid(fh: FileHandle): Promise<number | undefined> {
  const text = (await fh.readFile({ encoding: 'utf8' }).catch(() => '')).trim();
  const pid = Number(text);
  return /^[1-9][0-9]*$/.test(text) && Number.isSafeInteger(pid) ? pid : undefined;
}

async function sameFile(fh: FileHandle, path: string): Promise<boolean> {
  const [held, named] = [await fh.stat(), await stat(path).catch(() => undefined)];
  return named !== undefined && named.ino === held.ino && named.dev === held.dev;
}

/** Takes the lock at `path` or throws LockHeldError; resolves with the function that releases it. */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 20; attempt++) {
    const fh = await open(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    let held = false;
    try {
      if (!(await tryFlock(fh))) throw new LockHeldError(path, await holderPid(fh));
      if (!(await sameFile(fh, path))) continue; // its holder removed it while we waited: lock the new one
      await fh.truncate(0);
      await fh.write(`${process.pid}\n`, 0);
      held = true;
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        try {
          if (await sameFile(fh, path)) await rm(path, { force: true });
        } finally {
          await fh.close();
        }
      };
    } finally {
      if (!held) await fh.close();
    }
  }
  throw new Error(`could not take the lock ${path}: it was replaced 20 times in a row`);
}
