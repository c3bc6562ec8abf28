/**
 * The rate-limit check, in two parts, both over 1 s intervals of a saturating transfer:
 *  - the limit is never exceeded: no interval above configured × (1 + tolerance). Under a token bucket an interval
 *    can exceed the rate only by the bucket (20 ms of the rate, 2%), so an interval beyond +5% would be the limit
 *    failing.
 *  - the limit delivers what is configured: the rate over the whole window (the mean of its equal-length intervals)
 *    within ±tolerance.
 * Intervals below configured × (1 − tolerance) are counted and reported, not judged: on a shared 2-vCPU host a second
 * in which the sender was not scheduled says more about the host than about the limit, and the window rate catches
 * a limit that delivers too little.
 */
export interface WithinResult {
  ok: boolean;
  detail: string;
  mean: number;
  above: number;
  below: number;
}

export function withinCheck(samples: readonly number[], configured: number, tolerance: number): WithinResult {
  if (samples.length === 0) return { ok: false, detail: 'no intervals measured', mean: Number.NaN, above: 0, below: 0 };
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const dev = (x: number) => (x - configured) / configured;
  const above = samples.filter((x) => dev(x) > tolerance).length;
  const below = samples.filter((x) => dev(x) < -tolerance).length;
  const ok = Math.abs(dev(mean)) <= tolerance && above === 0;
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
  const t = `${tolerance * 100}%`;
  return {
    ok,
    mean,
    above,
    below,
    detail:
      `window rate ${mean.toFixed(1)} Mbit/s (${pct(dev(mean))}) of ${configured} configured; of ${samples.length} 1 s ` +
      `intervals ${samples.length - above - below} within ±${t}, ${above} above +${t} (judged: must be 0), ${below} below -${t} ` +
      `(reported) (min ${Math.min(...samples).toFixed(1)}, max ${Math.max(...samples).toFixed(1)})`,
  };
}
