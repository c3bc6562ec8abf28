import {
  bootstrapMeanCi,
  computeStat,
  sortedCopy,
  statNames,
  tukeyOutliersSorted,
  type ConfidenceInterval,
  type StatName,
} from '@coppice/results-schema';

/** Above this many samples a result page leaves out the bootstrap interval: it costs 2 000 × n draws per series. */
export const CI_MAX_SAMPLES = 1000;

export interface SeriesStats {
  /** The samples sorted ascending (for the ECDF). */
  sorted: readonly number[];
  values: Record<StatName, number | null>;
  ci: ConfidenceInterval | undefined;
  outliers: number;
}

const ORDER_FREE: readonly StatName[] = ['median', 'min', 'max', 'p50', 'p90', 'p95', 'p99', 'mad'];

/**
 * Every statistic of a series for its result page, through `computeStat`, the very call a claims cell makes, so
 * the two pages show the same unrounded value. Statistics that depend only on the sorted samples are computed on
 * one sorted copy (computeStat's own sort of it is then linear); mean and stddev on the samples as recorded.
 */
export function seriesStats(samples: readonly number[]): SeriesStats {
  const sorted = sortedCopy(samples);
  const values = {} as Record<StatName, number | null>;
  for (const stat of statNames) {
    if (stat === 'stddev' && samples.length < 2) values[stat] = null;
    else values[stat] = computeStat(ORDER_FREE.includes(stat) ? sorted : samples, stat);
  }
  return {
    sorted,
    values,
    ci: samples.length <= CI_MAX_SAMPLES ? bootstrapMeanCi(samples) : undefined,
    outliers: tukeyOutliersSorted(sorted).count,
  };
}
