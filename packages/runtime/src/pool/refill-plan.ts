import type { Tier } from './state.ts';

export interface RefillView {
  /** The mode's tiers, cold tier first (in two-tier the hot tier refills from it): see tiersOf. */
  tiers: readonly Tier[];
  /** Idle entries wanted per tier (the configured sizes). */
  size: Readonly<Record<Tier, number>>;
  /** Idle entries per tier now. */
  idle: Readonly<Record<Tier, number>>;
  /** Fills running per tier. */
  filling: Readonly<Record<Tier, number>>;
  /** Most fills running at once, over all tiers. */
  concurrency: number;
}

/** The fills to start now, one tier per fill: each tier up to its size, all of them within the concurrency. */
export function fillsToStart(view: RefillView): Tier[] {
  const filling = { ...view.filling };
  const start: Tier[] = [];
  for (const tier of view.tiers) {
    while (filling.hot + filling.durable < view.concurrency && view.idle[tier] + filling[tier] < view.size[tier]) {
      filling[tier]++;
      start.push(tier);
    }
  }
  return start;
}
