import type { StatName } from '../schema/stat.ts';
import { BOOTSTRAP_LEVEL, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED } from './bootstrap.ts';
import { TUKEY_K } from './outliers.ts';
import { P99_MIN_SAMPLES } from './summarize.ts';

/** A statistic described in words for the methodology page; the words describe the code in this folder. */
export interface StatDefinition {
  /** Short label for a table header, e.g. "p95". */
  label: string;
  /** What the number means. */
  definition: string;
  /** How it is computed, precisely enough to recompute it. */
  method: string;
  /** When the figure is flagged or not given. */
  reliability: string;
}

/** Prints a probability without floating-point noise: 0.025000000000000022 → 0.025. */
const tidy = (x: number) => String(Number(x.toPrecision(12)));

const R7 =
  'Linear interpolation between closest ranks (Hyndman & Fan type 7, "R-7", the default of numpy.percentile and R): ' +
  'with the n samples sorted ascending as x[0] … x[n−1], h = (n − 1)·q and the quantile is x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]).';

const quantileDefinition = (label: string, q: number): StatDefinition => ({
  label,
  definition: `The value below which ${Math.round(q * 100)}% of the samples lie.`,
  method: `${R7} Here q = ${q}.`,
  reliability:
    label === 'p99'
      ? `Flagged as unreliable when there are fewer than ${P99_MIN_SAMPLES} samples: fewer than one sample then lies beyond it, so it is little more than the maximum.`
      : 'Given for any non-empty series.',
});

export const statDefinitions: Record<StatName, StatDefinition> = {
  n: {
    label: 'n',
    definition: 'The number of successful samples in the series.',
    method: 'Count of the recorded samples. Failed attempts are listed separately and are not samples.',
    reliability: 'Always given.',
  },
  mean: {
    label: 'mean',
    definition: 'The arithmetic mean of the samples.',
    method:
      'Sum of the samples divided by n (compensated summation, simple-statistics `mean`), over every sample: outliers are flagged, never dropped. ' +
      `Shown with a ${Math.round(BOOTSTRAP_LEVEL * 100)}% bootstrap confidence interval (see "Confidence interval of the mean").`,
    reliability: 'Given for any non-empty series.',
  },
  median: {
    label: 'median',
    definition: 'The middle sample: half the samples lie below it, half above.',
    method:
      'The middle value of the sorted samples, or the mean of the two middle values when n is even (identical to the R-7 quantile at q = 0.5).',
    reliability: 'Given for any non-empty series.',
  },
  stddev: {
    label: 'stddev',
    definition: 'The sample standard deviation: the typical distance of a sample from the mean.',
    method:
      'Square root of Σ(x − mean)² / (n − 1) (Bessel-corrected, as numpy.std(x, ddof=1); simple-statistics `sampleStandardDeviation`).',
    reliability: 'Undefined for a single sample; given from 2 samples on.',
  },
  min: {
    label: 'min',
    definition: 'The smallest sample.',
    method: 'The first of the sorted samples.',
    reliability: 'Given for any non-empty series.',
  },
  max: {
    label: 'max',
    definition: 'The largest sample.',
    method: 'The last of the sorted samples.',
    reliability: 'Given for any non-empty series.',
  },
  p50: quantileDefinition('p50', 0.5),
  p90: quantileDefinition('p90', 0.9),
  p95: quantileDefinition('p95', 0.95),
  p99: quantileDefinition('p99', 0.99),
  mad: {
    label: 'MAD',
    definition:
      'The median absolute deviation: the median distance of a sample from the median; a spread measure that outliers barely move.',
    method:
      'median(|x − median(x)|), medians as above, UNSCALED (as scipy.stats.median_abs_deviation with its default scale=1.0). ' +
      'Multiply by 1.4826 to estimate the standard deviation of normally distributed data.',
    reliability: 'Given for any non-empty series.',
  },
};

/** The other analyses shown next to the statistics, in words. */
export const analysisDefinitions = {
  quantiles: {
    label: 'Quantiles',
    definition: 'Every percentile (p50, p90, p95, p99) and the quartiles used for outliers use one definition.',
    method: R7,
    reliability: `A p99 over fewer than ${P99_MIN_SAMPLES} samples is flagged.`,
  },
  meanCi: {
    label: `${Math.round(BOOTSTRAP_LEVEL * 100)}% confidence interval of the mean`,
    definition: `A range of plausible values for the true mean at ${Math.round(BOOTSTRAP_LEVEL * 100)}% confidence, estimated by resampling the recorded samples.`,
    method:
      `Percentile bootstrap: ${BOOTSTRAP_RESAMPLES} resamples of n samples drawn with replacement, indices from the mulberry32 ` +
      `generator with the fixed seed ${BOOTSTRAP_SEED} (reseeded for every interval, so the same samples give the same interval on every build); ` +
      `the interval runs between the R-7 quantiles ${tidy((1 - BOOTSTRAP_LEVEL) / 2)} and ${tidy((1 + BOOTSTRAP_LEVEL) / 2)} of the ${BOOTSTRAP_RESAMPLES} resample means.`,
    reliability:
      'Given for any non-empty series; with very few samples it is narrow only because the data are few, not because the mean is known.',
  },
  outliers: {
    label: 'Outliers',
    definition:
      'Samples unusually far from the bulk of the data, counted so that a reader sees them; they are never removed.',
    method: `Tukey fences: with R-7 quartiles q1 and q3 and IQR = q3 − q1, a sample below q1 − ${TUKEY_K}·IQR or above q3 + ${TUKEY_K}·IQR is counted.`,
    reliability: 'Given for any non-empty series. Every statistic on the site includes the flagged samples.',
  },
  compare: {
    label: 'Comparison of two hosts',
    definition:
      'How two series of the same metric differ: the ratio of their medians and whether the difference could be chance.',
    method:
      'Ratio = median(B) / median(A), where A is the first (left) host and B the second: above 1 means B’s values are larger. ' +
      'Significance: two-sided Mann–Whitney U test, normal approximation with tie correction and continuity correction ' +
      '(as scipy.stats.mannwhitneyu(a, b, method="asymptotic")); p is the probability of a difference at least this large if both came from one distribution.',
    reliability:
      'The ratio is not given when median(A) is 0. The normal approximation is coarse below about 8 samples per side.',
  },
  subsample: {
    label: 'Subsampled series',
    definition:
      'A series with more samples than a result file can hold keeps an even subsample, and the file records that it did.',
    method:
      'Of n samples, keep max evenly spaced through the recorded order: indices round(i·(n − 1)/(max − 1)) for i = 0 … max − 1 (first and last kept).',
    reliability: 'Statistics are computed from the kept samples only.',
  },
} satisfies Record<string, StatDefinition>;
