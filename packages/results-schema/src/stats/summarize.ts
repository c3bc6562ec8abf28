import { mean as ssMean, medianSorted, sampleStandardDeviation } from 'simple-statistics';
import type { StatName } from '../schema/stat.ts';
import { bootstrapMeanCi, type ConfidenceInterval } from './bootstrap.ts';
import { madSorted } from './mad.ts';
import { tukeyOutliersSorted, type TukeyOutliers } from './outliers.ts';
import { quantileSorted } from './quantile.ts';
import { StatsInputError, requireSamples, sortedCopy } from './samples.ts';

/** A p99 computed from fewer samples than this is flagged as unreliable (fewer than one sample beyond it). */
export const P99_MIN_SAMPLES = 100;

export interface Summary {
  n: number;
  mean: number;
  median: number;
  /** Sample standard deviation (n - 1 in the denominator); null for a single sample, where it is undefined. */
  stddev: number | null;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  /** False when n < P99_MIN_SAMPLES: the p99 is then little more than the maximum. */
  p99Reliable: boolean;
  /** Median absolute deviation, unscaled. */
  mad: number;
  /** 95% percentile-bootstrap interval of the mean, fixed seed. */
  meanCi: ConfidenceInterval;
  /** Tukey-fence outliers: counted and flagged, never removed from any statistic above. */
  outliers: TukeyOutliers;
}

/** Every statistic of one series, recomputed from its raw samples. Throws StatsInputError on an empty series. */
export function summarize(samples: readonly number[]): Summary {
  requireSamples(samples, 'summarize');
  const sorted = sortedCopy(samples);
  const n = sorted.length;
  return {
    n,
    // mean and stddev over the samples in recorded order, exactly as computeStat does, so both agree to the bit
    mean: ssMean(samples as number[]),
    median: medianSorted(sorted),
    stddev: n >= 2 ? sampleStandardDeviation(samples as number[]) : null,
    min: sorted[0]!,
    max: sorted[n - 1]!,
    p50: quantileSorted(sorted, 0.5),
    p90: quantileSorted(sorted, 0.9),
    p95: quantileSorted(sorted, 0.95),
    p99: quantileSorted(sorted, 0.99),
    p99Reliable: n >= P99_MIN_SAMPLES,
    mad: madSorted(sorted),
    meanCi: bootstrapMeanCi(samples),
    outliers: tukeyOutliersSorted(sorted),
  };
}

/** Whether `stat` over `n` samples meets its reliability rule (see statDefinitions). */
export function isStatReliable(stat: StatName, n: number): boolean {
  if (stat === 'p99') return n >= P99_MIN_SAMPLES;
  if (stat === 'stddev') return n >= 2;
  return n >= 1;
}

/** One named statistic (a claims cell's `stat`) from raw samples; cheaper than summarize (no bootstrap). */
export function computeStat(samples: readonly number[], stat: StatName): number {
  requireSamples(samples, `computeStat(${stat})`);
  switch (stat) {
    case 'n':
      return samples.length;
    case 'mean':
      return ssMean(samples as number[]);
    case 'stddev':
      if (samples.length < 2) {
        throw new StatsInputError(`computeStat(stddev): needs at least 2 samples, got ${samples.length}`);
      }
      return sampleStandardDeviation(samples as number[]);
    default:
      break;
  }
  const sorted = sortedCopy(samples);
  switch (stat) {
    case 'median':
      return medianSorted(sorted);
    case 'min':
      return sorted[0]!;
    case 'max':
      return sorted[sorted.length - 1]!;
    case 'p50':
      return quantileSorted(sorted, 0.5);
    case 'p90':
      return quantileSorted(sorted, 0.9);
    case 'p95':
      return quantileSorted(sorted, 0.95);
    case 'p99':
      return quantileSorted(sorted, 0.99);
    case 'mad':
      return madSorted(sorted);
  }
  const unknown: never = stat;
  throw new StatsInputError(`computeStat: unknown statistic ${String(unknown)}`);
}
