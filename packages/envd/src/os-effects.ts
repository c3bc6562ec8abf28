import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type CommandRunner, ProcessRunner, runChecked } from '@coppice/runtime/host';
import { writeFileAtomic } from '@coppice/runtime/host';

/**
 * Everything /init changes outside the agent's memory. Injected so that tests on a host exercise /init without
 * touching the host's clock, hostname or entropy pool.
 */
export interface OsEffects {
  setClock(time: Date): Promise<void>;
  setHostname(name: string): Promise<void>;
  /** Mixes bytes into the kernel pool (not credited) and, where the image has the helper, reseeds the CRNG. */
  mixEntropy(bytes: Uint8Array): Promise<void>;
  /** Records that a new sandbox generation started (e.g. after a snapshot restore); the interpreter watches it. */
  writeGeneration(content: string): Promise<void>;
}

export interface SystemEffectsOptions {
  /** Program run with no arguments after mixing entropy (issues RNDRESEEDCRNG); skipped when absent. */
  reseedCommand: string | undefined;
  generationFile: string;
  runner?: CommandRunner;
  /** Where the hostname goes: the kernel's (default /proc/sys/kernel/hostname) and the image's (/etc/hostname). */
  hostnameFiles?: { kernel: string; etc: string };
}

export function systemOsEffects(options: SystemEffectsOptions): OsEffects {
  const runner = options.runner ?? new ProcessRunner();
  return {
    async setClock(time) {
      const seconds = (time.getTime() / 1000).toFixed(3);
      await runChecked(runner, ['date', '-u', '-s', `@${seconds}`], { timeoutMs: 5000 });
    },
    async setHostname(name) {
      const files = options.hostnameFiles ?? { kernel: '/proc/sys/kernel/hostname', etc: '/etc/hostname' };
      await writeFile(files.kernel, name);
      // Programs that read the file (and a process started later by a login shell) agree with the kernel.
      await writeFileAtomic(files.etc, `${name}\n`, { mode: 0o644 });
    },
    async mixEntropy(bytes) {
      await writeFile('/dev/urandom', bytes);
      if (options.reseedCommand && existsSync(options.reseedCommand)) {
        await runChecked(runner, [options.reseedCommand], { timeoutMs: 5000 });
      }
    },
    async writeGeneration(content) {
      await mkdir(dirname(options.generationFile), { recursive: true });
      await writeFileAtomic(options.generationFile, content, { mode: 0o644 });
    },
  };
}
