import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { evenSubsample } from '@coppice/results-schema';
import { runChecked } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import type { EndpointPair } from './endpoint-pair.ts';

/** Round trips (µs) from a sockperf --full-log: rows "packet, txTime(sec), rxTime(sec), rtt(usec)" after a text header. */
export function parseSockperfFullLog(text: string): number[] {
  const rtts: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\d+\s*,\s*[\d.]+\s*,\s*[\d.]+\s*,\s*([\d.]+)\s*$/.exec(line);
    if (m) rtts.push(Number(m[1]));
  }
  return rtts;
}

export interface PingPongOptions {
  seconds: number;
  /** At most this many transactions are kept, evenly spaced through the run. */
  maxSamples: number;
  port: number;
  untilListening: (ctx: RigContext, exec: string[], port: number) => Promise<void>;
}

/**
 * namespace-rr: a sockperf TCP server in side b, a ping-pong client in side a for `seconds`; every transaction's
 * round trip from the client's full log, evenly subsampled to `maxSamples`.
 */
export async function measurePingPong(ctx: RigContext, pair: EndpointPair, options: PingPongOptions): Promise<void> {
  const { seconds, maxSamples, port } = options;
  const series = ctx.series('namespace-rr');
  ctx.progress('namespace-rr', 0, 1);
  const server = ctx.spawn([...pair.execB, 'sockperf', 'server', '--tcp', '-i', pair.addrB, '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let serverExit: string | undefined;
  server.once('exit', (code, signal) => (serverExit = `sockperf server exited (${signal ?? `code ${code}`})`));
  await options.untilListening(ctx, pair.execB, port);

  const log = join(ctx.tmpdir, 'sockperf-full-log.csv');
  const argv = [
    ...pair.execA,
    'sockperf', 'ping-pong', '--tcp', '-i', pair.addrB, '-p', String(port),
    '-t', String(seconds), '--full-rtt', '--full-log', log,
  ];
  ctx.param('sockperfCommand', argv.slice(pair.execA.length).join(' ').replace(log, 'FILE'));
  await runChecked(ctx.runner, argv, { timeoutMs: (seconds + 30) * 1000 });
  if (serverExit) throw new Error(serverExit);

  const rtts = parseSockperfFullLog(await readFile(log, 'utf8'));
  if (rtts.length === 0) throw new Error('sockperf --full-log recorded no transactions');
  const kept = evenSubsample(rtts, maxSamples);
  ctx.param('namespaceRrTransactions', rtts.length);
  ctx.param('namespaceRrKept', kept.length);
  for (const rtt of kept) series.add(rtt);
  ctx.progress('namespace-rr', 1, 1);
}
