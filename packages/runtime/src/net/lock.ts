/**
 * One controller per prefix: a lock file holding the owner's pid, created with O_EXCL. A lock whose owner is dead
 * (e.g. killed with SIGKILL) is taken over, which is what lets a restarted controller reconcile.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isAlive } from '../host/processes.ts';

export class LockHeldError extends Error {
  constructor(readonly path: string, readonly pid: number) {
    super(`cubenet state ${path} is held by running process ${pid} (one controller per prefix; stop it or use another prefix)`);
    this.name = 'LockHeldError';
  }
}

export async function acquireLock(path: string): Promise<() => Promise<void>> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return async () => {
        const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        if (owner === process.pid) await rm(path, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) throw new LockHeldError(path, pid);
      if (pid === process.pid) throw new LockHeldError(path, pid);
      await rm(path, { force: true }); // stale: its owner is gone
    }
  }
  throw new Error(`could not take the lock ${path}`);
}
