/**
 * The policies policy-churn loads: each one different from the last (so every load really rewrites the sandbox's
 * sets), all the same size, drawn only from documentation and benchmarking ranges (no address anyone uses).
 */
import type { SandboxPolicy } from '@coppice/runtime/net';

export const POLICY_SHAPE = { allowOut: 12, denyOut: 4, dnsAllow: 2 } as const;

/** The k-th policy: 8 IPv4 + 2 IPv6 + 2 CIDR allow entries, 4 deny entries, 2 DNS servers; internet on every other. */
export function churnPolicy(k: number): SandboxPolicy {
  if (!Number.isInteger(k) || k < 0) throw new Error(`policy index must be a non-negative integer, got ${k}`);
  const host = (i: number) => ((k * 7 + i) % 254) + 1;
  const hex = (k % 0xffff).toString(16);
  return {
    allowOut: [
      ...Array.from({ length: 8 }, (_, i) => `198.51.100.${host(i)}`),
      `2001:db8:${hex}::${(1 + (k % 100)).toString(16)}`,
      `2001:db8:${hex}::${(101 + (k % 100)).toString(16)}`,
      `203.0.113.${(k % 32) * 8}/29`,
      `2001:db8:${hex}:1::/64`,
    ],
    denyOut: [
      `198.18.${k % 256}.${host(0)}`,
      `198.18.${k % 256}.${host(1)}`,
      `198.19.${k % 256}.0/24`,
      `2001:db8:${hex}:2::/64`,
    ],
    dnsAllow: [`192.0.2.${host(3)}`, `2001:db8:${hex}::53`],
    allowInternetAccess: k % 2 === 0,
  };
}
