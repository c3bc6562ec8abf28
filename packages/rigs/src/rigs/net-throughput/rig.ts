/** net-throughput: iperf3 between two sandboxes, 1 and 16 streams, IPv4 and IPv6. */
import { runChecked } from '@coppice/runtime';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { filler } from '../../lib/net/policy-filler.ts';
import { cubenetPreflight, openRigCubenet } from '../../lib/net/rig-cubenet.ts';
import { sandboxExec } from '../../lib/net/sandbox-exec.ts';
import { untilListening } from '../../lib/net/until-listening.ts';

export function preflight(ctx: PreflightContext): Promise<string[]> {
  return cubenetPreflight(ctx);
}

interface IperfJson {
  intervals?: Array<{ sum?: { bits_per_second?: number; omitted?: boolean } }>;
  error?: string;
}

/** Per-interval throughput sums (Gbit/s) from `iperf3 -J`, omitted intervals left out. */
export function parseIperfIntervals(json: string): number[] {
  const parsed = JSON.parse(json) as IperfJson;
  if (parsed.error) throw new Error(`iperf3: ${parsed.error}`);
  return (parsed.intervals ?? [])
    .map((i) => i.sum)
    .filter(
      (s): s is { bits_per_second: number; omitted?: boolean } => typeof s?.bits_per_second === 'number' && !s.omitted,
    )
    .map((s) => s.bits_per_second / 1e9);
}

export async function run(ctx: RigContext): Promise<void> {
  const seconds = ctx.param('secondsPerRun', Math.max(1, Math.round(ctx.samples / 2)));
  const net = await openRigCubenet(ctx);
  const a = await net.checkout();
  const b = await net.checkout();
  await net.setPolicy(a.id, {
    allowOut: [b.addresses.ipv4, b.addresses.ipv6, ...filler(98, 1)],
    denyOut: filler(100, 2),
  });
  await net.setPolicy(b.id, { allowOut: filler(100, 3), denyOut: filler(100, 4) });
  const execA = sandboxExec(ctx, a.endpoint);
  const execB = sandboxExec(ctx, b.endpoint);
  const port = 15201;
  const server = ctx.spawn([...execB, 'iperf3', '-s', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  ctx.defer(() => void server.kill('SIGKILL'));
  await untilListening(ctx, execB, port);
  const combos = [
    ['ipv4', '1'],
    ['ipv4', '16'],
    ['ipv6', '1'],
    ['ipv6', '16'],
  ] as const;
  for (const [i, [family, streams]] of combos.entries()) {
    ctx.signal.throwIfAborted();
    ctx.progress(`throughput ${family} x${streams}`, i, combos.length);
    const series = ctx.series('throughput', { family, streams });
    try {
      const r = await runChecked(
        ctx.runner,
        [
          ...execA,
          'iperf3',
          '-c',
          b.addresses[family],
          '-p',
          String(port),
          '-t',
          String(seconds),
          '-O',
          '1',
          '-i',
          '0.5',
          '-P',
          streams,
          '-J',
        ],
        { timeoutMs: (seconds + 30) * 1000 },
      );
      for (const x of parseIperfIntervals(r.stdout)) series.add(x);
    } catch (e) {
      series.fail(e);
    }
  }
  ctx.progress('throughput', combos.length, combos.length);
}
