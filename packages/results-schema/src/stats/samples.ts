/** Thrown when a statistic is asked of samples it cannot be computed from (empty, non-finite, too few). */
export class StatsInputError extends Error {
  override name = 'StatsInputError';
}

/** Checks that `samples` is a non-empty array of finite numbers; `what` names the caller in the error. */
export function requireSamples(samples: readonly number[], what: string, min = 1): void {
  if (!Array.isArray(samples)) throw new StatsInputError(`${what}: samples must be an array of numbers`);
  if (samples.length < min) {
    throw new StatsInputError(
      samples.length === 0
        ? `${what}: no samples (an empty series has no statistics)`
        : `${what}: needs at least ${min} samples, got ${samples.length}`,
    );
  }
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new StatsInputError(`${what}: samples[${i}] is ${String(x)}, not a finite number`);
    }
  }
}

/** A sorted copy (ascending); never mutates the caller's array. */
export function sortedCopy(samples: readonly number[]): number[] {
  return Array.from(samples).sort((a, b) => a - b);
}
