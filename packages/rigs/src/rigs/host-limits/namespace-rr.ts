/** host-limits' namespace-rr: a sockperf ping-pong between the two stacks of an endpoint pair. */
import { evenSubsample } from '@coppice/results-schema';
import type { RigContext } from '../../harness/rig-context.ts';
import type { EndpointPair } from '../../lib/net/endpoint-pair.ts';
import type { RrPlacement } from '../../lib/rr/cpu-placement.ts';
import type { RrPath, UntilListening } from '../../lib/rr/rr-path.ts';
import { sockperfBlock, sockperfClientArgv, startSockperfServer } from '../../lib/rr/sockperf.ts';

export interface PingPongOptions {
  seconds: number;
  /** At most this many transactions are kept, evenly spaced through the run. */
  maxSamples: number;
  port: number;
  placement: RrPlacement;
  untilListening: UntilListening;
}

/**
 * namespace-rr: a sockperf TCP server in side b, a ping-pong client in side a for `seconds`, each pinned per
 * `placement`; every transaction's round trip from the client's full log, evenly subsampled to `maxSamples`.
 */
export async function measurePingPong(ctx: RigContext, pair: EndpointPair, options: PingPongOptions): Promise<void> {
  const { seconds, maxSamples } = options;
  const series = ctx.series('namespace-rr');
  ctx.progress('namespace-rr', 0, 1);
  const path: RrPath = {
    clientExec: pair.execA,
    serverExec: pair.execB,
    address: pair.addrB,
    port: options.port,
    placement: options.placement,
  };
  ctx.param('sockperfCommand', sockperfClientArgv(ctx.platform, path, seconds, 'FILE').join(' '));
  const server = await startSockperfServer(ctx, path, options.untilListening);
  let rtts: number[];
  try {
    rtts = await sockperfBlock(ctx, path, server, seconds, 'sockperf-full-log.csv');
  } finally {
    server.stop();
  }
  const kept = evenSubsample(rtts, maxSamples);
  ctx.param('namespaceRrTransactions', rtts.length);
  ctx.param('namespaceRrKept', kept.length);
  for (const rtt of kept) series.add(rtt);
  ctx.progress('namespace-rr', 1, 1);
}
