/**
 * rate-limit: a sandbox's egress limited to 100 Mbit/s with cubenet's setRateLimit, and what iperf3 from the sandbox
 * to an external peer gets through it (see manifest.ts for the clock). Linux reads tbf's counter on the limit's ifb;
 * FreeBSD reads the counters of the sandbox's dummynet pipe.
 */
import { runChecked } from '@coppice/runtime';
import { DEFAULT_PIPE_BASE } from '@coppice/runtime/net';
import type { Cubenet } from '@coppice/runtime/net';
import { tcIfbName } from '@coppice/runtime/net';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { EDGE_NETS, openEdgeCubenet } from '../../lib/net/edge-cubenet.ts';
import { createExternalPeer } from '../../lib/net/external-peer.ts';
import { peerNames, type ExternalPeer, type PeerLinkSpec } from '../../lib/net/peer-link.ts';
import { cubenetPreflight } from '../../lib/net/rig-cubenet.ts';
import { sandboxExec } from '../../lib/net/sandbox-exec.ts';
import { untilListening } from '../../lib/net/until-listening.ts';
import { dummynetCounterReader } from './dummynet-counter.ts';
import { goodputAsFrames, goodputAsIpPackets, parseIperfJson, type IperfRun } from './iperf3.ts';
import { TC_BATCH_ARGV, tbfCounterReader } from './tbf-counter.ts';
import { withinCheck } from './within.ts';

const NET = EDGE_NETS['rate-limit'];
const CONFIGURED_MBIT = 100;
const PORT = 5201;
export const RATE_PEER: PeerLinkSpec = {
  own: NET.own,
  ipv4: { host: '10.95.3.1', peer: '10.95.3.2', prefixLength: 30 },
  ipv6: { host: 'fd95:3::1', peer: 'fd95:3::2', prefixLength: 64 },
};

export async function preflight(ctx: PreflightContext): Promise<string[]> {
  // cubenet's own prerequisites, its rate limiter's included (on Linux: ifb, tbf, ingress, u32 + mirred, tried).
  return cubenetPreflight(ctx, { rateLimits: true });
}

export async function run(ctx: RigContext): Promise<void> {
  const seconds = ctx.param('measuredSeconds', ctx.samples);
  const omit = ctx.param('omittedSeconds', ctx.quick ? 1 : 3);
  // FreeBSD: pf translates only on the interface named at init, the peer link (made just after, under this name).
  const net = await openEdgeCubenet(ctx, NET, { rateLimits: true, egressInterface: peerNames(NET.own).hostInterface });
  const peer = await createExternalPeer(ctx, RATE_PEER);
  const sandbox = await net.checkout({ policy: { allowOut: [peer.ipv4.peer] } });
  const inSandbox = sandboxExec(ctx, sandbox.endpoint);
  ctx.param(
    'path',
    `sandbox ${sandbox.addresses.ipv4} → bridge → cubenet NAT → ${peer.hostInterface} → peer ${peer.ipv4.peer} (iperf3 TCP, one stream)`,
  );

  ctx.progress('unlimited', 0, 2);
  const unlimited = await iperf(ctx, inSandbox, peer, ctx.quick ? 1 : 2, 0);
  const unlimitedMbit = ctx.param('unlimitedMbit', round(unlimited.receivedBitsPerSecond / 1e6));
  if (unlimitedMbit < CONFIGURED_MBIT * 1.5)
    throw new Error(
      `without a limit the path carries only ${unlimitedMbit} Mbit/s: a ${CONFIGURED_MBIT} Mbit/s limit would not be what bounds it`,
    );

  await net.setRateLimit(sandbox.id, { egressMbit: CONFIGURED_MBIT });
  const counter = await limitCounter(ctx, net, sandbox.addresses.ipv4);
  ctx.defer(() => counter.close());

  ctx.progress('limited', 1, 2);
  const series = ctx.series('achieved-rate', { configured: String(CONFIGURED_MBIT) });
  const limitedRun = iperf(ctx, inSandbox, peer, seconds + 1, omit);
  // The bytes the limit let through, one sample a second, after iperf3's omitted start (slow start, the full bucket).
  await sleep(omit * 1000 + 250, ctx.signal);
  let last = await counter.read();
  const rates: number[] = [];
  for (let i = 0; i < seconds; i++) {
    await sleep(1000 - ((performance.now() - last.t) % 1000), ctx.signal);
    const now = await counter.read();
    rates.push(round(((now.bytes - last.bytes) * 8) / ((now.t - last.t) / 1000) / 1e6));
    series.add(rates.at(-1)!);
    last = now;
    ctx.progress('limited', 1 + (i + 1) / seconds, 2);
  }
  const limited = await limitedRun;
  const goodput = round(limited.receivedBitsPerSecond / 1e6);
  ctx.param('goodputMbit', goodput);
  ctx.param(
    'goodputMbitPerInterval',
    limited.receiverIntervals.map((i) => round(i.bitsPerSecond / 1e6)),
  );
  if (limited.retransmits !== undefined) ctx.param('retransmits', limited.retransmits);
  if (limited.mss === undefined) throw new Error('iperf3 did not report the TCP MSS');
  // In the units the limiter counts and shapes: Ethernet frames for tbf on the ifb, IP packets for dummynet behind pf.
  const goodputFrames =
    ctx.platform === 'freebsd'
      ? ctx.param('goodputAsIpPacketsMbit', round(goodputAsIpPackets(goodput, limited.mss)))
      : ctx.param('goodputAsFramesMbit', round(goodputAsFrames(goodput, limited.mss)));
  ctx.param('mss', limited.mss);
  const wire = withinCheck(rates, CONFIGURED_MBIT, 0.05);
  ctx.param('intervalsAbove5Percent', wire.above);
  ctx.param('intervalsBelow5Percent', wire.below);
  const crossOk = Math.abs(goodputFrames - CONFIGURED_MBIT) / CONFIGURED_MBIT <= 0.05;
  ctx.check(
    'within-5-percent',
    wire.ok && crossOk,
    `${wire.detail}; iperf3 receiver goodput ${goodput.toFixed(1)} Mbit/s = ${goodputFrames.toFixed(1)} Mbit/s as ` +
      (ctx.platform === 'freebsd'
        ? `IP packets (MSS ${limited.mss} + 52 B of headers)`
        : `Ethernet frames (MSS ${limited.mss} + 66 B of headers)`) +
      `, ${crossOk ? 'within' : 'outside'} ±5%`,
  );
  ctx.progress('limited', 2, 2);
}

/**
 * The limit as the kernel holds it (run.params.limit) and a reader of what it let through: tbf's counter on the
 * sandbox's ifb through one `tc -batch` (Linux), the sandbox's dummynet pipe counters (FreeBSD; pipe = the runtime's
 * default pipe base + the sandbox's host number, as openRigCubenet opens it).
 */
async function limitCounter(
  ctx: RigContext,
  net: Cubenet,
  ipv4: string,
): Promise<{ read(): Promise<{ bytes: number; t: number }>; close(): void }> {
  const slot = net.ipam.hostOf(ipv4)!;
  if (ctx.platform === 'freebsd') {
    const pipe = DEFAULT_PIPE_BASE + slot;
    const shown = await runChecked(ctx.runner, ['dnctl', 'pipe', 'show', String(pipe)]);
    ctx.param('limit', {
      egressMbit: CONFIGURED_MBIT,
      appliedBy: 'cubenet setRateLimit (dummynet pipe + pf dnpipe)',
      pipe,
      show: shown.stdout.split('\n').filter(Boolean),
    });
    return dummynetCounterReader(ctx.runner, pipe);
  }
  const ifb = tcIfbName(NET.prefix, slot);
  const tbf = await runChecked(ctx.runner, ['tc', '-j', 'qdisc', 'show', 'dev', ifb]);
  ctx.param('limit', {
    egressMbit: CONFIGURED_MBIT,
    appliedBy: 'cubenet setRateLimit (tc: ingress mirred -> ifb -> tbf)',
    ifb,
    qdisc: JSON.parse(tbf.stdout),
  });
  return tbfCounterReader(ctx.spawn([...TC_BATCH_ARGV], { stdio: ['pipe', 'pipe', 'pipe'] }), ifb);
}

async function iperf(
  ctx: RigContext,
  sandboxExec: string[],
  peer: ExternalPeer,
  seconds: number,
  omit: number,
): Promise<IperfRun> {
  const server = ctx.spawn([...peer.exec, 'iperf3', '-s', '-1', '-J', '-B', peer.ipv4.peer, '-p', String(PORT)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    await untilListening(ctx, peer.exec, PORT);
    const r = await runChecked(
      ctx.runner,
      [
        ...sandboxExec,
        'iperf3',
        '-c',
        peer.ipv4.peer,
        '-p',
        String(PORT),
        '-t',
        String(seconds + omit),
        '-O',
        String(omit),
        '-i',
        '1',
        '-J',
        '--get-server-output',
      ],
      { timeoutMs: (seconds + omit + 30) * 1000 },
    );
    return parseIperfJson(r.stdout);
  } finally {
    server.kill('SIGKILL');
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => (clearTimeout(timer), reject(signal.reason));
    // The listener goes when the timer fires: one per sleep would pile up on the run's signal.
    const timer = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
