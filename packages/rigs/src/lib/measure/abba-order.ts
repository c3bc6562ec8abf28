/**
 * Measurement order for comparing paths on a noisy shared host: rounds of A B B A (…), so a slow drift of the host
 * (another tenant, thermal, frequency) weighs on every path alike.
 */
export function abbaOrder<T>(paths: readonly [T, T], rounds: number): T[] {
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds must be a positive integer, got ${rounds}`);
  const [a, b] = paths;
  const out: T[] = [];
  for (let i = 0; i < rounds; i++) out.push(...(i % 2 === 0 ? [a, b] : [b, a]));
  return out;
}
