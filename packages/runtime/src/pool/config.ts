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
}

export const TEMPLATE_NAME = /^[a-z][a-z0-9-]{0,19}$/;

export function defaultPoolConfig(template: string, image: GuestImage, mode: PoolMode): PoolConfig {
  return {
    template,
    image,
    mode,
    size: { hot: mode === 'prewarm' || mode === 'two-tier' ? 2 : 0, durable: mode === 'durable' || mode === 'two-tier' ? 2 : 0 },
    refill: 'on-return',
    refillConcurrency: 1,
    stateDir: '/var/lib/coppice/pools',
    runRoot: '/run/coppice/vm',
    maxEntries: 256,
  };
}

export function validatePoolConfig(c: PoolConfig): PoolConfig {
  if (!TEMPLATE_NAME.test(c.template)) {
    throw new PoolInputError(`invalid template name "${c.template}": 1-20 of [a-z0-9-], starting with a letter`);
  }
  if (!POOL_MODES.includes(c.mode)) throw new PoolInputError(`invalid pool mode "${c.mode}": expected ${POOL_MODES.join(', ')}`);
  if (!Number.isInteger(c.maxEntries) || c.maxEntries < 1 || c.maxEntries > 4096) {
    throw new PoolInputError(`maxEntries ${c.maxEntries} out of range 1-4096`);
  }
  for (const tier of ['hot', 'durable'] as const) {
    const n = c.size[tier];
    if (!Number.isInteger(n) || n < 0 || n > c.maxEntries) throw new PoolInputError(`size.${tier} ${n} out of range 0-${c.maxEntries}`);
  }
  if (!Number.isInteger(c.refillConcurrency) || c.refillConcurrency < 1 || c.refillConcurrency > 64) {
    throw new PoolInputError(`refillConcurrency ${c.refillConcurrency} out of range 1-64`);
  }
  if (!c.stateDir.startsWith('/') || !c.runRoot.startsWith('/')) throw new PoolInputError('stateDir and runRoot must be absolute paths');
  // Both end up inside QEMU option values (mem-path=, socket path=, ...), which QEMU splits at commas.
  for (const [field, value, env] of [['stateDir', c.stateDir, 'COPPICE_POOL_STATE_DIR'], ['runRoot', c.runRoot, 'COPPICE_RUN_DIR']] as const) {
    if (value.includes(',')) throw new PoolInputError(`${field} ${JSON.stringify(value)} contains a comma, which QEMU option values cannot hold (set ${env} or the config to a path without one)`);
  }
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
