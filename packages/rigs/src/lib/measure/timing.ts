/**
 * Milliseconds since `t0` (a performance.now() reading), rounded to the nanosecond: the clock's resolution, without
 * the binary floating-point tails (0.28821700000003) that would only bloat the result file.
 */
export function elapsedMs(t0: number): number {
  return Math.round((performance.now() - t0) * 1e6) / 1e6;
}

/** Milliseconds since t0 (performance.now()), unrounded. */
export function since(t0: number): number {
  return performance.now() - t0;
}
