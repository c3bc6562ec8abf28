/**
 * Whether this host's bhyve carries the vnode-restore patch (patches/). `-o snapshot.vnode_restore=true` means
 * something only to the patched bhyve: a stock one stores any unknown `-o` key and never reads it, so a restore
 * asked to map guest memory would silently copy it. The patched bhyve_init_config() sets the default
 * `snapshot.vnode_restore=false`, and `bhyve -o config.dump=true NAME` prints the whole configuration (one
 * `key=value` a line, defaults included) and exits 1 before it opens any VM (bhyverun.c main()), so the key shows
 * up in the dump of a patched bhyve only. The probe needs neither root nor vmm and creates nothing.
 */
import type { CommandRunner } from '../../host/command-runner.ts';

export const VNODE_RESTORE_KEY = 'snapshot.vnode_restore';

/** The VM name the dump needs (main() requires one); bhyve exits before it opens or creates that VM. */
export const PROBE_VM_NAME = 'coppice-vnode-probe';

export const vnodeRestoreProbeArgv = (): string[] => ['bhyve', '-o', 'config.dump=true', PROBE_VM_NAME];

export interface VnodeRestoreSupport {
  supported: boolean;
  /** What the probe saw, for facts and error messages. */
  detail: string;
}

/** Reads the probe's result: the dump of a patched bhyve lists the patch's key among its defaults. */
export function parseVnodeRestoreProbe(result: { code: number; stdout: string; stderr: string }): VnodeRestoreSupport {
  if (result.code === 127) return { supported: false, detail: 'bhyve not found' };
  const keys = result.stdout.split('\n').map((l) => l.split('=')[0]);
  if (!keys.includes('memory.size')) {
    // Not a configuration dump at all (no config.dump support, or bhyve failed first): treat as stock.
    return {
      supported: false,
      detail: `bhyve -o config.dump=true printed no configuration (exit ${result.code}): ${result.stderr.trim() || 'no output'}`,
    };
  }
  return keys.includes(VNODE_RESTORE_KEY)
    ? { supported: true, detail: `patched bhyve (${VNODE_RESTORE_KEY} in its default configuration)` }
    : {
        supported: false,
        detail: `stock bhyve (no ${VNODE_RESTORE_KEY} in its default configuration): restores copy guest memory`,
      };
}

export async function probeVnodeRestore(runner: CommandRunner): Promise<VnodeRestoreSupport> {
  return parseVnodeRestoreProbe(await runner.run(vnodeRestoreProbeArgv()));
}
