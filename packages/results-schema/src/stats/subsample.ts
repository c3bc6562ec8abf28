/**
 * Indices of at most `max` of `n` samples, evenly spaced through the recorded order (first and last always kept,
 * strictly increasing), so that a drift over the run stays visible in what is kept.
 */
export function evenSubsampleIndices(n: number, max: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`evenSubsample: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(max) || max < 1)
    throw new RangeError(`evenSubsample: max must be a positive integer, got ${max}`);
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  if (max === 1) return [0];
  // The step (n-1)/(max-1) exceeds 1 here, so rounding never repeats an index.
  return Array.from({ length: max }, (_, i) => Math.round((i * (n - 1)) / (max - 1)));
}

/**
 * Keeps at most `max` samples, evenly spaced (see evenSubsampleIndices); returns a copy. The harness uses it to keep
 * a result file under 2 MB and records in the file that it did.
 */
export function evenSubsample<T>(samples: readonly T[], max: number): T[] {
  return evenSubsampleIndices(samples.length, max).map((i) => samples[i]!);
}
