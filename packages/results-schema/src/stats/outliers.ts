import { quantileSorted } from './quantile.ts';
import { requireSamples, sortedCopy } from './samples.ts';

/** Tukey's fence multiplier: a sample beyond 1.5 × IQR outside the quartiles is flagged. */
export const TUKEY_K = 1.5;

export interface TukeyOutliers {
  /** Samples below `lowerFence` plus samples above `upperFence`. Flagged only: no statistic drops them. */
  count: number;
  low: number;
  high: number;
  q1: number;
  q3: number;
  lowerFence: number;
  upperFence: number;
}

/** Tukey fences on R-7 quartiles: outside [q1 - 1.5·IQR, q3 + 1.5·IQR] (strictly) counts as an outlier. */
export function tukeyOutliers(samples: readonly number[]): TukeyOutliers {
  requireSamples(samples, 'tukeyOutliers');
  return tukeyOutliersSorted(sortedCopy(samples));
}

export function tukeyOutliersSorted(sorted: readonly number[]): TukeyOutliers {
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  const iqr = q3 - q1;
  const lowerFence = q1 - TUKEY_K * iqr;
  const upperFence = q3 + TUKEY_K * iqr;
  let low = 0;
  let high = 0;
  for (const x of sorted) {
    if (x < lowerFence) low++;
    else if (x > upperFence) high++;
  }
  return { count: low + high, low, high, q1, q3, lowerFence, upperFence };
}
