import { StatsInputError, requireSamples, sortedCopy } from './samples.ts';

/**
 * Quantile by linear interpolation between closest ranks: Hyndman & Fan type 7 ("R-7"), the default of numpy
 * (`numpy.percentile(x, 100 * p)`), R and Excel's PERCENTILE.INC. With the samples sorted ascending as x[0..n-1],
 * h = (n - 1) * p and Q(p) = x[⌊h⌋] + (h - ⌊h⌋) * (x[⌊h⌋ + 1] - x[⌊h⌋]).
 */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new StatsInputError('quantile: no samples (an empty series has no statistics)');
  if (!(p >= 0 && p <= 1)) throw new StatsInputError(`quantile: p must be between 0 and 1, got ${p}`);
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const below = sorted[lo]!;
  if (lo === h) return below;
  const above = sorted[lo + 1]!;
  return below + (h - lo) * (above - below);
}

/** R-7 quantile of unsorted samples (sorts a copy). `p` is a fraction in [0, 1], e.g. 0.99 for p99. */
export function quantile(samples: readonly number[], p: number): number {
  requireSamples(samples, 'quantile');
  return quantileSorted(sortedCopy(samples), p);
}
