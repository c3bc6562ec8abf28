import { describe, expect, it } from 'vitest';
import {
  BOOTSTRAP_RESAMPLES,
  BOOTSTRAP_SEED,
  StatsInputError,
  analysisDefinitions,
  bootstrapMeanCi,
  compare,
  computeStat,
  evenSubsample,
  evenSubsampleIndices,
  mad,
  mannWhitneyU,
  mulberry32,
  normalSf,
  quantile,
  statDefinitions,
  statNames,
  summarize,
  tukeyOutliers,
} from '../src/index.ts';

/** Relative closeness, for values computed by another implementation in floating point. */
function expectClose(actual: number, expected: number, rel = 1e-12): void {
  const tolerance = Math.max(Math.abs(expected) * rel, 1e-300);
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`expected ${actual} to be within ${rel} (relative) of ${expected}`);
  }
}

// Fixed datasets. Reference values below come from numpy 2.4.6 / scipy 1.17.1 (Debian python3-numpy,
// python3-scipy), printed by test/reference/stats-reference.py; each block names the exact call.
const A = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]; // n < 100, ties
const C = [10.1, 10.3, 9.8, 10.0, 10.2, 9.9, 10.4, 35.0, 10.1, 2.0, 10.0]; // one outlier each side
const D = Array.from({ length: 150 }, (_, i) => ((i * 37) % 101) + (i % 7) * 0.25); // n ≥ 100 (same formula in python)
const E = [0.5, 0.25, 1e6, -3.0, 7.125]; // wide range, negative value

// numpy.percentile(np.array(x, dtype=float), [0, 25, 50, 75, 90, 95, 99, 100])  (default method="linear" = R-7)
const percentiles = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1];
const numpyPercentiles: Record<string, [number[], number[]]> = {
  A: [A, [1.0, 2.25, 3.5, 5.0, 6.299999999999999, 7.649999999999997, 8.73, 9.0]],
  C: [C, [2.0, 9.95, 10.1, 10.25, 10.4, 22.7, 32.540000000000006, 35.0]],
  D: [D, [0.0, 25.125, 50.375, 75.625, 90.55, 95.27499999999999, 100.255, 101.25]],
  E: [E, [-3.0, 0.25, 0.5, 7.125, 600002.8500000001, 800001.4249999998, 960000.2849999999, 1000000.0]],
};

// np.mean(x), np.std(x, ddof=1), scipy.stats.median_abs_deviation(x)  (default scale=1.0: unscaled)
const numpyMoments: Record<string, [number[], { mean: number; std: number; mad: number }]> = {
  A: [A, { mean: 3.9, std: 2.4698178070456938, mad: 1.5 }],
  C: [C, { mean: 11.618181818181817, std: 8.127461864791268, mad: 0.1999999999999993 }],
  D: [D, { mean: 50.44, std: 29.28776573036103, mad: 25.375 }],
  E: [E, { mean: 200000.975, std: 447213.0504735201, mad: 3.5 }],
};

// q1, q3 = np.percentile(x, [25, 75]); iqr = q3 - q1; np.sum(x < q1 - 1.5*iqr), np.sum(x > q3 + 1.5*iqr)
const numpyTukey: Record<string, [number[], number, number]> = {
  A: [A, 0, 0],
  C: [C, 1, 1],
  D: [D, 0, 0],
  E: [E, 0, 1],
};

describe('quantile (R-7)', () => {
  for (const [name, [data, expected]] of Object.entries(numpyPercentiles)) {
    it(`matches numpy.percentile on dataset ${name}`, () => {
      percentiles.forEach((p, i) => expectClose(quantile(data, p), expected[i]!));
    });
  }

  it('does not reorder the caller’s array', () => {
    const copy = [...A];
    quantile(copy, 0.9);
    expect(copy).toEqual(A);
  });

  it('rejects empty input, p outside [0, 1] and non-finite samples with a clear error', () => {
    expect(() => quantile([], 0.5)).toThrow(StatsInputError);
    expect(() => quantile([], 0.5)).toThrow(/no samples/);
    expect(() => quantile([1, 2], 1.5)).toThrow(/between 0 and 1/);
    expect(() => quantile([1, 2], Number.NaN)).toThrow(/between 0 and 1/);
    expect(() => quantile([1, Number.NaN], 0.5)).toThrow(/samples\[1\] is NaN/);
  });
});

describe('summarize', () => {
  for (const [name, [data, ref]] of Object.entries(numpyMoments)) {
    it(`matches numpy/scipy moments and MAD on dataset ${name}`, () => {
      const s = summarize(data);
      expect(s.n).toBe(data.length);
      expectClose(s.mean, ref.mean);
      expectClose(s.stddev!, ref.std);
      expectClose(s.mad, ref.mad);
      expectClose(mad(data), ref.mad);
      const [, pct] = numpyPercentiles[name]!;
      const got = [s.min, s.p50, s.p90, s.p95, s.p99, s.max];
      [pct[0], pct[2], pct[4], pct[5], pct[6], pct[7]].forEach((v, i) => expectClose(got[i]!, v!));
      expect(s.median).toBe(s.p50);
    });
  }

  it('flags p99 as unreliable under 100 samples only', () => {
    expect(summarize(A).p99Reliable).toBe(false);
    expect(summarize(D.slice(0, 99)).p99Reliable).toBe(false);
    expect(summarize(D.slice(0, 100)).p99Reliable).toBe(true);
    expect(summarize(D).p99Reliable).toBe(true);
  });

  for (const [name, [data, low, high]] of Object.entries(numpyTukey)) {
    it(`counts Tukey outliers as numpy does on dataset ${name}, without dropping them`, () => {
      const s = summarize(data);
      expect([s.outliers.low, s.outliers.high, s.outliers.count]).toEqual([low, high, low + high]);
      expect(tukeyOutliers(data).count).toBe(low + high);
      expect(s.n).toBe(data.length);
      expect(s.max).toBe(Math.max(...data));
    });
  }

  it('gives a null stddev for a single sample and throws on an empty series', () => {
    const s = summarize([4.2]);
    expect(s.stddev).toBeNull();
    expect([s.mean, s.median, s.p99, s.mad, s.meanCi.low, s.meanCi.high]).toEqual([4.2, 4.2, 4.2, 0, 4.2, 4.2]);
    expect(() => summarize([])).toThrow(/summarize: no samples/);
  });
});

describe('bootstrap CI of the mean', () => {
  it('is deterministic: the same samples give the same interval every time', () => {
    const first = bootstrapMeanCi(D);
    const second = summarize([...D]).meanCi;
    expect(second).toEqual(first);
    expect(first.resamples).toBe(BOOTSTRAP_RESAMPLES);
    expect(first.seed).toBe(BOOTSTRAP_SEED);
    expect(first.level).toBe(0.95);
  });

  it('draws its resample indices from mulberry32 with the stated seed', () => {
    // A plain re-implementation of the method described in analysisDefinitions.meanCi, using prng.ts.
    const random = mulberry32(BOOTSTRAP_SEED);
    const means = Array.from({ length: BOOTSTRAP_RESAMPLES }, () => {
      let sum = 0;
      for (let i = 0; i < C.length; i++) sum += C[Math.floor(random() * C.length)]!;
      return sum / C.length;
    });
    const ci = bootstrapMeanCi(C);
    expect(ci.low).toBe(quantile(means, 0.025));
    expect(ci.high).toBe(quantile(means, 0.975));
  });

  it('changes with the seed (the seed really drives the resampling)', () => {
    expect(bootstrapMeanCi(D, { seed: 1 })).not.toEqual(bootstrapMeanCi(D, { seed: 2 }));
  });

  for (const [name, data] of Object.entries({ A, C, D, E })) {
    it(`contains the mean and lies within [min, max] on dataset ${name}`, () => {
      const s = summarize(data);
      expect(s.meanCi.low).toBeLessThan(s.mean);
      expect(s.meanCi.high).toBeGreaterThan(s.mean);
      expect(s.meanCi.low).toBeGreaterThanOrEqual(s.min);
      expect(s.meanCi.high).toBeLessThanOrEqual(s.max);
    });
  }

  it('is roughly mean ± 1.96·sd/√n on a large symmetric sample', () => {
    const s = summarize(D);
    const halfWidth = (1.96 * s.stddev!) / Math.sqrt(s.n);
    expect(s.meanCi.high - s.meanCi.low).toBeGreaterThan(1.6 * halfWidth);
    expect(s.meanCi.high - s.meanCi.low).toBeLessThan(2.4 * halfWidth);
  });

  it('mulberry32 is a fixed sequence in [0, 1)', () => {
    const r = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => r());
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(mulberry32(42)()).toBe(xs[0]);
    expect(new Set(xs).size).toBe(1000);
  });
});

describe('computeStat', () => {
  it('computes every statistic name in the schema, equal to summarize', () => {
    for (const data of [A, C, D, E]) {
      const s = summarize(data);
      for (const stat of statNames) expect(computeStat(data, stat)).toBe(s[stat]);
    }
  });

  it('throws a clear error on empty input and on a stddev of one sample', () => {
    for (const stat of statNames) expect(() => computeStat([], stat)).toThrow(StatsInputError);
    expect(() => computeStat([1], 'stddev')).toThrow(/needs at least 2 samples/);
  });
});

describe('compare', () => {
  // r = scipy.stats.mannwhitneyu(a, b, alternative="two-sided", use_continuity=True, method="asymptotic");
  // (r.statistic, r.pvalue, np.median(b) / np.median(a))
  const cases: Array<[string, number[], number[], number, number, number]> = [
    ['A vs C', A, C, 7.5, 0.0009128101403921442, 2.8857142857142857],
    ['ties across samples', [1, 2, 2, 3, 3, 3, 4], [3, 3, 4, 4, 5, 5, 6, 7], 6.0, 0.010834422131524878, 1.5],
    ['D vs D+20 (tiny p)', D, D.map((v) => v + 20), 7228.5, 8.67842224691472e-8, 1.3970223325062034],
    ['all values tied', [5, 5, 5], [5, 5], 3.0, 1.0, 1.0],
    ['one sample each', [1], [2], 0.0, 1.0, 2.0],
  ];
  for (const [name, a, b, u, p, ratio] of cases) {
    it(`matches scipy.stats.mannwhitneyu (asymptotic) on ${name}`, () => {
      const c = compare(a, b);
      expect(c.u).toBe(u);
      expectClose(c.p, p, 1e-9);
      expectClose(c.ratio!, ratio);
      expect(mannWhitneyU(a, b)).toEqual({ u, p: c.p });
    });
  }

  it('is symmetric in p and reports the ratio as b over a', () => {
    expectClose(compare(C, A).p, compare(A, C).p);
    expectClose(compare(C, A).ratio!, 1 / 2.8857142857142857);
  });

  it('gives no ratio when median(a) is zero, and rejects empty samples', () => {
    expect(compare([0, 0, 1], [1, 2]).ratio).toBeNull();
    expect(() => compare([], [1])).toThrow(/sample a.*no samples/);
    expect(() => compare([1], [])).toThrow(/sample b.*no samples/);
  });

  // scipy.stats.norm.sf(z)
  const sf: Array<[number, number]> = [
    [0, 0.5],
    [0.5, 0.3085375387259869],
    [1.0, 0.15865525393145707],
    [1.96, 0.024997895148220435],
    [2.5, 0.006209665325776132],
    [3.0, 0.0013498980316300933],
    [3.5, 0.00023262907903552502],
    [5.0, 2.866515718791933e-7],
    [8.0, 6.22096057427174e-16],
    [12.0, 1.776482112077653e-33],
    [-1.5, 0.9331927987311419],
    [37.0, 5.7255712225239266e-300],
    // either side of the switch from series to continued fraction (z = 2.5·√2)
    [3.5355, 0.00020350212259507148],
    [3.5356, 0.0002034251129992373],
    [30.0, 4.906713927147908e-198],
  ];
  it('normal upper tail matches scipy.stats.norm.sf', () => {
    for (const [z, expected] of sf) expectClose(normalSf(z), expected, 1e-12);
  });
});

describe('evenSubsample', () => {
  it('keeps everything (as a copy) when already short enough', () => {
    const out = evenSubsample(A, 10);
    expect(out).toEqual(A);
    expect(out).not.toBe(A);
  });

  it('keeps max evenly spaced samples, first and last included, in order', () => {
    const xs = Array.from({ length: 1001 }, (_, i) => i);
    expect(evenSubsample(xs, 11)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    const idx = evenSubsampleIndices(100_003, 997);
    expect(idx).toHaveLength(997);
    expect(idx[0]).toBe(0);
    expect(idx.at(-1)).toBe(100_002);
    expect(idx.every((v, i) => i === 0 || v > idx[i - 1]!)).toBe(true);
    expect(evenSubsample([7, 8, 9], 1)).toEqual([7]);
  });

  it('rejects a max that is not a positive integer', () => {
    expect(() => evenSubsample(A, 0)).toThrow(/positive integer/);
    expect(() => evenSubsample(A, 2.5)).toThrow(/positive integer/);
  });
});

describe('statDefinitions', () => {
  it('describes every statistic name with its words filled in', () => {
    for (const stat of statNames) {
      const d = statDefinitions[stat];
      for (const text of [d.label, d.definition, d.method, d.reliability]) expect(text.length).toBeGreaterThan(0);
    }
    expect(statDefinitions.p99.reliability).toContain('fewer than 100 samples');
    expect(statDefinitions.mad.method).toContain('UNSCALED');
    expect(analysisDefinitions.meanCi.method).toContain(`${BOOTSTRAP_RESAMPLES} resamples`);
    expect(analysisDefinitions.meanCi.method).toContain(String(BOOTSTRAP_SEED));
    expect(analysisDefinitions.meanCi.method).toContain('quantiles 0.025 and 0.975 of');
  });
});
