import { quantileSorted } from './quantile.ts';
import { requireSamples } from './samples.ts';

/** Number of bootstrap resamples drawn for every confidence interval. */
export const BOOTSTRAP_RESAMPLES = 2000;
/** Fixed PRNG seed: the same samples give the same interval on every build and every machine. */
export const BOOTSTRAP_SEED = 20261128;
/** Two-sided confidence level of the interval. */
export const BOOTSTRAP_LEVEL = 0.95;

export interface ConfidenceInterval {
  low: number;
  high: number;
  level: number;
  resamples: number;
  seed: number;
  method: 'percentile bootstrap of the mean';
}

export interface BootstrapOptions {
  resamples?: number;
  seed?: number;
  level?: number;
}

/**
 * Percentile-bootstrap confidence interval of the mean: draw `resamples` samples of size n with replacement
 * (indices from mulberry32 seeded with `seed`, reseeded on every call), take each resample's mean, and report the
 * R-7 quantiles (1 - level) / 2 and (1 + level) / 2 of those means.
 */
export function bootstrapMeanCi(samples: readonly number[], options: BootstrapOptions = {}): ConfidenceInterval {
  requireSamples(samples, 'bootstrapMeanCi');
  const resamples = options.resamples ?? BOOTSTRAP_RESAMPLES;
  const seed = options.seed ?? BOOTSTRAP_SEED;
  const level = options.level ?? BOOTSTRAP_LEVEL;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new RangeError(`bootstrapMeanCi: resamples must be a positive integer, got ${resamples}`);
  }
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrapMeanCi: level must be in (0, 1), got ${level}`);

  const n = samples.length;
  const values = Float64Array.from(samples);
  // mulberry32 (see prng.ts) inlined: this loop runs resamples × n times and a call per draw doubles its cost.
  let state = seed >>> 0;
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      sum += values[Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)]!;
    }
    means[r] = sum / n;
  }
  means.sort();
  return {
    low: quantileSorted(means, (1 - level) / 2),
    high: quantileSorted(means, (1 + level) / 2),
    level,
    resamples,
    seed,
    method: 'percentile bootstrap of the mean',
  };
}
