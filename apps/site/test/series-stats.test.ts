import { describe, expect, it } from 'vitest';
import { bootstrapMeanCi, computeStat, mulberry32, statNames } from '@coppice/results-schema';
import { CI_MAX_SAMPLES, seriesStats } from '../src/lib/claims/series-stats.ts';
import { ECDF_MAX_POINTS, ecdfChart } from '../src/lib/charts/ecdf.ts';

const random = mulberry32(42);
const samples = (n: number) => Array.from({ length: n }, () => 5 + 10 * random() ** 3);

describe('result page statistics', () => {
  it('equal, bit for bit, what computeStat gives a claims cell for the same samples', () => {
    for (const n of [1, 2, 7, 150, 3000]) {
      const s = samples(n);
      const stats = seriesStats(s);
      for (const stat of statNames) {
        if (stat === 'stddev' && n < 2) expect(stats.values.stddev).toBeNull();
        else expect(stats.values[stat], `${stat} of ${n}`).toBe(computeStat(s, stat));
      }
    }
  });

  it('gives the bootstrap interval up to the sample limit and leaves it out above', () => {
    const small = samples(CI_MAX_SAMPLES);
    expect(seriesStats(small).ci).toEqual(bootstrapMeanCi(small));
    expect(seriesStats(samples(CI_MAX_SAMPLES + 1)).ci).toBeUndefined();
  });
});

describe('ECDF chart', () => {
  const series = (n: number) => ({
    metric: 'rtt',
    unit: 'us',
    labels: { family: 'ipv4' },
    samples: samples(n),
    failures: [],
  });

  it('draws every sample of a small series and says when a large one is thinned', () => {
    const small = ecdfChart('rtt', [series(50)])!;
    expect(small.thinned).toBe(false);
    expect(small.svg).toMatch(/^<svg/);
    const large = ecdfChart('rtt', [series(ECDF_MAX_POINTS * 5)])!;
    expect(large.thinned).toBe(true);
  });

  it('lists a legend only when there is more than one series, and nothing for an empty series', () => {
    expect(ecdfChart('rtt', [series(10)])!.legend).toEqual([]);
    const two = ecdfChart('rtt', [series(10), { ...series(10), labels: { family: 'ipv6' } }])!;
    expect(two.legend.map((l) => l.name)).toEqual(['family=ipv4', 'family=ipv6']);
    expect(ecdfChart('rtt', [{ ...series(0) }])).toBeUndefined();
  });
});
