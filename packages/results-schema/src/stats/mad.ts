import { quantileSorted } from './quantile.ts';
import { requireSamples, sortedCopy } from './samples.ts';

/**
 * Median absolute deviation, UNSCALED: median(|x - median(x)|), the default of
 * `scipy.stats.median_abs_deviation` (scale=1.0). Multiply by 1.4826 for a normal-consistent estimate of σ.
 */
export function mad(samples: readonly number[]): number {
  requireSamples(samples, 'mad');
  return madSorted(sortedCopy(samples));
}

export function madSorted(sorted: readonly number[]): number {
  const center = quantileSorted(sorted, 0.5);
  return quantileSorted(
    sorted.map((x) => Math.abs(x - center)).sort((a, b) => a - b),
    0.5,
  );
}
