import { medianSorted } from 'simple-statistics';
import { normalSf } from './normal.ts';
import { requireSamples, sortedCopy } from './samples.ts';

export interface Comparison {
  nA: number;
  nB: number;
  medianA: number;
  medianB: number;
  /** median(b) / median(a): above 1 means b's values are larger (for a latency, b is slower). Null if median(a) is 0. */
  ratio: number | null;
  /** Mann–Whitney U statistic of sample a (scipy's `statistic` for mannwhitneyu(a, b)). */
  u: number;
  /** Two-sided p-value, normal approximation with tie and continuity correction. */
  p: number;
  method: 'Mann–Whitney U, two-sided, normal approximation with tie and continuity correction';
}

/**
 * Compares two samples: the ratio of medians (b over a) and a two-sided Mann–Whitney U test, computed as
 * scipy.stats.mannwhitneyu(a, b, alternative="two-sided", use_continuity=True, method="asymptotic") does:
 * U_a = R_a − n_a(n_a+1)/2 from average ranks, U = max(U_a, n_a·n_b − U_a),
 * σ = √(n_a·n_b/12 · ((n+1) − Σ(t³−t)/(n(n−1)))), z = (U − n_a·n_b/2 − 0.5)/σ, p = min(1, 2·P(Z > z)).
 */
export function compare(a: readonly number[], b: readonly number[]): Comparison {
  requireSamples(a, 'compare (sample a)');
  requireSamples(b, 'compare (sample b)');
  const sortedA = sortedCopy(a);
  const sortedB = sortedCopy(b);
  const medianA = medianSorted(sortedA);
  const medianB = medianSorted(sortedB);
  const { u, p } = mannWhitneyU(a, b);
  return {
    nA: a.length,
    nB: b.length,
    medianA,
    medianB,
    ratio: medianA === 0 ? null : medianB / medianA,
    u,
    p,
    method: 'Mann–Whitney U, two-sided, normal approximation with tie and continuity correction',
  };
}

/** Two-sided Mann–Whitney U test (asymptotic, tie- and continuity-corrected). Returns U of `a` and the p-value. */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): { u: number; p: number } {
  requireSamples(a, 'mannWhitneyU (sample a)');
  requireSamples(b, 'mannWhitneyU (sample b)');
  const nA = a.length;
  const nB = b.length;
  const n = nA + nB;
  const pooled = [...a.map((value) => ({ value, fromA: true })), ...b.map((value) => ({ value, fromA: false }))];
  pooled.sort((x, y) => x.value - y.value);

  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && pooled[j + 1]!.value === pooled[i]!.value) j++;
    const t = j - i + 1;
    const averageRank = (i + j + 2) / 2; // ranks are 1-based: i+1 .. j+1
    for (let k = i; k <= j; k++) if (pooled[k]!.fromA) rankSumA += averageRank;
    tieTerm += t * t * t - t;
    i = j + 1;
  }

  const uA = rankSumA - (nA * (nA + 1)) / 2;
  const u = Math.max(uA, nA * nB - uA);
  const mu = (nA * nB) / 2;
  const sigma = Math.sqrt(((nA * nB) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  // Every value tied (σ = 0): the samples cannot be told apart.
  if (!(sigma > 0)) return { u: uA, p: 1 };
  const z = (u - mu - 0.5) / sigma;
  return { u: uA, p: Math.min(1, 2 * normalSf(z)) };
}
