/** Which fills a pool starts: each tier up to its size, cold tier first, never more than the concurrency at once. */
import { describe, expect, it } from 'vitest';
import { fillsToStart } from '../../src/pool/refill-plan.ts';

describe('refill plan', () => {
  it('fills the cold tier first and stops at the concurrency', () => {
    expect(
      fillsToStart({
        tiers: ['durable', 'hot'],
        size: { hot: 2, durable: 2 },
        idle: { hot: 0, durable: 0 },
        filling: { hot: 0, durable: 0 },
        concurrency: 3,
      }),
    ).toEqual(['durable', 'durable', 'hot']);
  });

  it('counts idle entries and running fills against the size, and running fills of any tier against the concurrency', () => {
    expect(
      fillsToStart({
        tiers: ['hot'],
        size: { hot: 4, durable: 0 },
        idle: { hot: 1, durable: 0 },
        filling: { hot: 1, durable: 0 },
        concurrency: 8,
      }),
    ).toEqual(['hot', 'hot']);
    expect(
      fillsToStart({
        tiers: ['durable', 'hot'],
        size: { hot: 4, durable: 4 },
        idle: { hot: 0, durable: 0 },
        filling: { hot: 1, durable: 1 },
        concurrency: 2,
      }),
    ).toEqual([]);
  });

  it('starts nothing for a full tier or a mode without tiers', () => {
    expect(
      fillsToStart({
        tiers: ['hot'],
        size: { hot: 2, durable: 0 },
        idle: { hot: 2, durable: 0 },
        filling: { hot: 0, durable: 0 },
        concurrency: 4,
      }),
    ).toEqual([]);
    expect(
      fillsToStart({
        tiers: [],
        size: { hot: 2, durable: 2 },
        idle: { hot: 0, durable: 0 },
        filling: { hot: 0, durable: 0 },
        concurrency: 4,
      }),
    ).toEqual([]);
  });
});
