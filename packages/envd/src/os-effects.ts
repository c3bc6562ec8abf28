import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomicUnsynced } from '@coppice/runtime/host';
import type { CloneHelper } from './clone-helper.ts';

/**
 * Everything /init changes outside the agent's memory. Injected so that tests on a host exercise /init without
 * touching the host's clock, hostname or entropy pool.
 */
export interface OsEffects {
  setClock(time: Date): Promise<void>;
  setHostname(name: string): Promise<void>;
  /** Mixes bytes into the kernel's pool, credited, and forces the CRNG to reseed from them. */
  mixEntropy(bytes: Uint8Array): Promise<void>;
  /** Records that a new sandbox generation started (e.g. after a snapshot restore); the interpreter watches it. */
  writeGeneration(content: string): Promise<void>;
}

export interface SystemEffectsOptions {
  /** Sets the clock and reseeds the CRNG (root); see clone-helper.ts. */
  cloneHelper: CloneHelper;
  generationFile: string;
  /**
   * The kernel's host name (default /proc/sys/kernel/hostname). The templates link /etc/hostname to it, so programs
   * that read the file agree with the kernel without a file written per /init.
   */
  kernelHostnameFile?: string;
}

// The generation file is written crash-safe but unsynced: each /init rewrites it, on the guest's tmpfs.
export function systemOsEffects(options: SystemEffectsOptions): OsEffects {
  return {
    setClock: (time) => options.cloneHelper.setClock(time),
    async setHostname(name) {
      await writeFile(options.kernelHostnameFile ?? '/proc/sys/kernel/hostname', name);
    },
    mixEntropy: (bytes) => options.cloneHelper.reseed(bytes),
    async writeGeneration(content) {
      await mkdir(dirname(options.generationFile), { recursive: true });
      writeFileAtomicUnsynced(options.generationFile, content, { mode: 0o644 });
    },
  };
}
