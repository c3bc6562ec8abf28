import { z } from 'zod';
import type { GuestImage } from '../hypervisor/hypervisor.ts';
import { PoolInputError } from './errors.ts';

/**
 * - full: no pool; every checkout boots a fresh VM.
 * - prewarm: live VMs restored from the template checkpoint, SIGSTOP'd; checkout = SIGCONT + probe.
 * - durable: one on-disk checkpoint per entry; checkout = restore + probe.
 * - two-tier: durable cold tier plus a hot tier in front, refilled from the cold tier.
 */
export type PoolMode = 'full' | 'prewarm' | 'durable' | 'two-tier';
export const POOL_MODES: readonly PoolMode[] = ['full', 'prewarm', 'durable', 'two-tier'];

export interface PoolConfig {
  /** Template name: slug, at most 20 characters (it prefixes entry and VM names). */
  template: string;
  image: GuestImage;
  mode: PoolMode;
  /** Target number of idle entries per tier (only the tiers the mode uses count). */
  size: { hot: number; durable: number };
  /** When to refill: after a return (in the background) or only on `warm`. */
  refill: 'on-return' | 'manual';
  /** Parallel background fills (each costs a core for a few hundred ms). */
  refillConcurrency: number;
  /** Pool state (JSON per template) and durable checkpoints. */
  stateDir: string;
  /** VM run directories (sockets, logs): tmpfs. */
  runRoot: string;
  /** Largest count `warm` accepts. */
  maxEntries: number;
  /**
   * How a checkout knows the guest is ready: its serial console (default), or an HTTP GET over the sandbox's own
   * address (e.g. the guest agent's /health), which also proves the network path the sandbox will be used through.
   * Fills always probe over the serial console.
   */
  readiness?: ReadinessProbe;
  /**
   * A folder of template checkpoints shared by every pool of the same guest image (see template-cache.ts): the first
   * pool boots the template and leaves a copy there, later ones clone it instead of booting.
   */
  templateCache?: string;
}

export type ReadinessProbe = { via: 'serial' } | { via: 'http'; port: number; path: string };

export const TEMPLATE_NAME = /^[a-z][a-z0-9-]{0,19}$/;

export function defaultPoolConfig(template: string, image: GuestImage, mode: PoolMode): PoolConfig {
  return {
    template,
    image,
    mode,
    size: {
      hot: mode === 'prewarm' || mode === 'two-tier' ? 2 : 0,
      durable: mode === 'durable' || mode === 'two-tier' ? 2 : 0,
    },
    refill: 'on-return',
    refillConcurrency: 1,
    stateDir: '/var/lib/coppice/pools',
    runRoot: '/run/coppice/vm',
    maxEntries: 256,
  };
}

/** A folder QEMU option values will hold (mem-path=, socket path=, ...): absolute, and no comma (QEMU splits there). */
function folderSchema(field: string, env: string) {
  return z
    .string()
    .refine((p) => p.startsWith('/'), `stateDir and runRoot must be absolute paths (${field})`)
    .refine((p) => !p.includes(','), {
      error: (i) =>
        `${field} ${JSON.stringify(i.input)} contains a comma, which QEMU option values cannot hold (set ${env} or the config to a path without one)`,
    });
}

/** The rules of a pool configuration (zod), with messages that name the field and the value. */
export const poolConfigSchema = z
  .object({
    template: z.string().refine((t) => TEMPLATE_NAME.test(t), {
      error: (i) => `invalid template name ${JSON.stringify(i.input)}: 1-20 of [a-z0-9-], starting with a letter`,
    }),
    mode: z.string().refine((m) => (POOL_MODES as readonly string[]).includes(m), {
      error: (i) => `invalid pool mode ${JSON.stringify(i.input)}: expected ${POOL_MODES.join(', ')}`,
    }),
    maxEntries: z.number().refine((n) => Number.isInteger(n) && n >= 1 && n <= 4096, {
      error: (i) => `maxEntries ${String(i.input)} out of range 1-4096`,
    }),
    size: z.object({ hot: z.number(), durable: z.number() }),
    refillConcurrency: z.number().refine((n) => Number.isInteger(n) && n >= 1 && n <= 64, {
      error: (i) => `refillConcurrency ${String(i.input)} out of range 1-64`,
    }),
    refill: z.enum(['on-return', 'manual']),
    stateDir: folderSchema('stateDir', 'COPPICE_POOL_STATE_DIR'),
    runRoot: folderSchema('runRoot', 'COPPICE_RUN_DIR'),
    templateCache: z
      .string()
      .refine((p) => p.startsWith('/') && !p.includes(','), 'templateCache must be an absolute path without a comma')
      .optional(),
    readiness: z
      .discriminatedUnion('via', [
        z.object({ via: z.literal('serial') }),
        z.object({
          via: z.literal('http'),
          port: z.number().int().min(1).max(65535),
          path: z.string().regex(/^\/[A-Za-z0-9._~/-]*$/, 'readiness.path must be a plain absolute URL path'),
        }),
      ])
      .optional(),
  })
  .superRefine((c, ctx) => {
    for (const tier of ['hot', 'durable'] as const) {
      const n = c.size[tier];
      if (!Number.isInteger(n) || n < 0 || n > c.maxEntries)
        ctx.addIssue({
          code: 'custom',
          path: ['size', tier],
          message: `size.${tier} ${n} out of range 0-${c.maxEntries}`,
        });
    }
  });

/** Checks `c` against poolConfigSchema; throws PoolInputError with the first rule it breaks. */
export function validatePoolConfig(c: PoolConfig): PoolConfig {
  const r = poolConfigSchema.safeParse(c);
  if (!r.success) throw new PoolInputError(r.error.issues[0]?.message ?? 'invalid pool configuration');
  return c;
}

/** Tiers a mode keeps idle entries in. */
export function tiersOf(mode: PoolMode): ('hot' | 'durable')[] {
  switch (mode) {
    case 'full':
      return [];
    case 'prewarm':
      return ['hot'];
    case 'durable':
      return ['durable'];
    case 'two-tier':
      return ['durable', 'hot'];
  }
}
