/**
 * Per-process memory levers of a QEMU VM: glibc malloc settings passed in QEMU's environment. Measured lever by
 * lever by the density rig; what the runtime adopts and why is in docs/pools.md.
 */

export interface QemuTuning {
  /** glibc's malloc arenas (MALLOC_ARENA_MAX). Unset: glibc's default (8 per core), each arena a heap of its own. */
  mallocArenaMax?: number;
  /** Further glibc.malloc tunables (GLIBC_TUNABLES), by name without the "glibc.malloc." prefix, e.g. trim_threshold. */
  mallocTunables?: Record<string, number>;
  /** TCG runs every vCPU on one thread (thread=single) instead of one thread per vCPU. */
  tcgSingleThread?: boolean;
}

/**
 * What the runtime starts QEMU with: one malloc arena (QEMU's few threads allocate little; measured by the density
 * rig's levers, a little less heap and no slower restores). See docs/pools.md for the levers not taken.
 */
export const DEFAULT_QEMU_TUNING: QemuTuning = { mallocArenaMax: 1 };

const TUNABLE_NAME = /^[a-z_]+$/;

/** The environment QEMU starts with: `base` plus the tuning's variables. Throws on a value glibc would misread. */
export function qemuProcessEnv(tuning: QemuTuning, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  if (tuning.mallocArenaMax !== undefined) {
    if (!Number.isInteger(tuning.mallocArenaMax) || tuning.mallocArenaMax < 1)
      throw new Error(`mallocArenaMax must be a positive integer, got ${tuning.mallocArenaMax}`);
    env.MALLOC_ARENA_MAX = String(tuning.mallocArenaMax);
  }
  const tunables = Object.entries(tuning.mallocTunables ?? {});
  for (const [name, value] of tunables) {
    if (!TUNABLE_NAME.test(name)) throw new Error(`glibc malloc tunable name "${name}" is not of the form [a-z_]+`);
    if (!Number.isInteger(value) || value < 0)
      throw new Error(`glibc.malloc.${name} must be a non-negative integer, got ${value}`);
  }
  if (tunables.length > 0)
    env.GLIBC_TUNABLES = tunables.map(([name, value]) => `glibc.malloc.${name}=${value}`).join(':');
  return env;
}
