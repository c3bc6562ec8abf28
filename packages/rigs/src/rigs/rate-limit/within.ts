/**
 * The rate-limit check: the rate over the measured window (the mean of its 1 s intervals, each the same length) within
 * ±tolerance of the configured rate. How many single intervals strayed is reported, not judged: on a shared 2-vCPU
 * host a second in which the sender was not scheduled says more about the host than about the limit.
 */
export function withinCheck(samples: readonly number[], configured: number, tolerance: number): { ok: boolean; detail: string } {
  if (samples.length === 0) return { ok: false, detail: 'no intervals measured' };
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const dev = (x: number) => (x - configured) / configured;
  const inside = samples.filter((x) => Math.abs(dev(x)) <= tolerance).length;
  const ok = Math.abs(dev(mean)) <= tolerance;
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
  return {
    ok,
    detail:
      `mean ${mean.toFixed(1)} Mbit/s (${pct(dev(mean))}) of ${configured} configured; ${inside} of ${samples.length} ` +
      `1 s intervals within ±${tolerance * 100}% (min ${Math.min(...samples).toFixed(1)}, max ${Math.max(...samples).toFixed(1)})`,
  };
}
