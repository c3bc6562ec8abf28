/** n documentation-range addresses (TEST-NET-2/3 and 2001:db8::/32), for a policy of realistic size. */
export function filler(n: number, seed: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    i % 2
      ? `2001:db8:${(seed & 0xffff).toString(16)}::${i.toString(16)}`
      : `${seed % 2 ? '198.51.100' : '203.0.113'}.${(i % 250) + 1}`,
  );
}
