import {
  bootstrapMeanCi,
  computeStat,
  madSorted,
  quantileSorted,
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

const QUANTILES: Partial<Record<StatName, number>> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };

/**
 * Every statistic of a series for its result page, equal bit for bit to what `computeStat` gives a claims cell
 * (test/series-stats.test.ts holds them to it). The samples are sorted once, numerically; the order statistics then
 * come from the same results-schema functions computeStat applies to its own sorted copy (quantileSorted,
 * madSorted), which spares a comparator sort per statistic on series of thousands of samples.
 */
export function seriesStats(samples: readonly number[]): SeriesStats {
  const sorted = Array.from(Float64Array.from(samples).sort());
  const n = sorted.length;
  const values = {} as Record<StatName, number | null>;
  for (const stat of statNames) {
    const q = QUANTILES[stat];
    if (q !== undefined) values[stat] = quantileSorted(sorted, q);
    else if (stat === 'min') values[stat] = sorted[0]!;
    else if (stat === 'max') values[stat] = sorted[n - 1]!;
    else if (stat === 'mad') values[stat] = madSorted(sorted);
    else if (stat === 'median') values[stat] = computeStat(sorted, 'median');
    else if (stat === 'stddev' && n < 2) values[stat] = null;
    else values[stat] = computeStat(samples, stat);
  }
  return {
    sorted,
    values,
    ci: n <= CI_MAX_SAMPLES ? bootstrapMeanCi(samples) : undefined,
    outliers: tukeyOutliersSorted(sorted).count,
  };
}
