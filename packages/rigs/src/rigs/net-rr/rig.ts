/** net-rr: sandbox↔sandbox TCP round trip with policies loaded, IPv4 (sockperf) and IPv6 (tcp-rr). */
import { quantile } from '@coppice/results-schema';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { cubenetPreflight, openRigCubenet, sandboxExec } from '../lifecycle/rig-cubenet.ts';
import { buildTcpRr, keep, sockperfRtts, tcpRrRtts } from './rr-tools.ts';

export function preflight(ctx: PreflightContext): Promise<string[]> {
  return cubenetPreflight(ctx);
}

/** n documentation-range addresses (TEST-NET-2/3 and 2001:db8::/32), for a policy of realistic size. */
export function filler(n: number, seed: number): string[] {
  return Array.from({ length: n }, (_, i) => (i % 2 ? `2001:db8:${(seed & 0xffff).toString(16)}::${i.toString(16)}` : `${seed % 2 ? '198.51.100' : '203.0.113'}.${(i % 250) + 1}`));
}

export async function run(ctx: RigContext): Promise<void> {
  const seconds = ctx.param('secondsPerFamily', ctx.quick ? 1 : 8);
  const max = ctx.param('maxSamplesPerFamily', ctx.samples);
  const bin = await buildTcpRr(ctx);
  const net = await openRigCubenet(ctx);
  const a = await net.checkout();
  const b = await net.checkout();
  await net.setPolicy(a.id, { allowOut: [b.addresses.ipv4, b.addresses.ipv6, ...filler(98, 1)], denyOut: filler(100, 2) });
  await net.setPolicy(b.id, { allowOut: [a.addresses.ipv4, a.addresses.ipv6, ...filler(98, 3)], denyOut: filler(100, 4) });
  ctx.param('policyEntriesPerSandbox', 200);
  const side = (s: typeof a, family: 'ipv4' | 'ipv6') => ({ exec: sandboxExec(ctx, s.endpoint), address: s.addresses[family] });

  ctx.progress('rtt ipv4 (sockperf)', 0, 3);
  const v4 = await sockperfRtts(ctx, side(a, 'ipv4'), side(b, 'ipv4'), 11111, seconds);
  const s4 = ctx.series('rtt', { family: 'ipv4' });
  for (const x of keep(ctx, 'ipv4', v4, max)) s4.add(x);

  ctx.progress('rtt ipv6 (tcp-rr)', 1, 3);
  const v6 = await tcpRrRtts(ctx, bin, side(a, 'ipv6'), side(b, 'ipv6'), 11112, seconds);
  const s6 = ctx.series('rtt', { family: 'ipv6' });
  for (const x of keep(ctx, 'ipv6', v6, max)) s6.add(x);

  ctx.progress('rtt ipv4 (tcp-rr cross-check)', 2, 3);
  const cross = await tcpRrRtts(ctx, bin, side(a, 'ipv4'), side(b, 'ipv4'), 11113, Math.min(seconds, 3));
  ctx.param('ipv4TcpRrCrossCheck', { transactions: cross.length, p50: quantile(cross, 0.5), p99: quantile(cross, 0.99) });
  ctx.progress('rtt', 3, 3);
}
