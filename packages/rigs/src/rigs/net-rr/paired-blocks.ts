/**
 * A sandbox path and its bare floor measured in alternating blocks (in egress' ABBA order: sandbox, bare, bare,
 * sandbox, ...), both servers up for the whole schedule, so drift of the host (other load, frequency, the
 * scheduler) falls on both paths alike and their ratio is not an accident of when each ran.
 */
import { quantile } from '@coppice/results-schema';
import type { RigContext } from '../../harness/rig-context.ts';
import { abbaOrder } from '../../lib/measure/abba-order.ts';
import type { RrPath, RrServer } from '../../lib/rr/rr-path.ts';

export type PathName = 'sandbox' | 'bare';

/** `rounds` rounds of sandbox/bare blocks, alternating which goes first (2 × rounds blocks). */
export function pairedOrder(rounds: number): PathName[] {
  return abbaOrder(['sandbox', 'bare'] as const, rounds);
}

/** A request/response tool: start a server on a path, then run timed client blocks against it. */
export interface RrTool {
  name: string;
  start(path: RrPath): Promise<RrServer>;
  run(path: RrPath, server: RrServer, seconds: number, logName: string): Promise<number[]>;
}

/** One block as run.params records it, so a block hit by a burst of other load on the host can be seen. */
export interface BlockSummary {
  path: PathName;
  transactions: number;
  p50: number;
}

export interface PairedRun {
  /** Each path's transactions, its blocks concatenated in run order. */
  rtts: Record<PathName, number[]>;
  blocks: BlockSummary[];
}

/** Runs `order` with `seconds` per block. Both servers are stopped however it ends. */
export async function measurePaired(
  ctx: RigContext,
  phase: string,
  tool: RrTool,
  paths: Record<PathName, RrPath>,
  order: readonly PathName[],
  seconds: number,
): Promise<PairedRun> {
  const started: RrServer[] = [];
  const start = async (path: RrPath) => {
    const server = await tool.start(path);
    started.push(server);
    return server;
  };
  const rtts: Record<PathName, number[]> = { sandbox: [], bare: [] };
  const blocks: BlockSummary[] = [];
  try {
    const servers: Record<PathName, RrServer> = { sandbox: await start(paths.sandbox), bare: await start(paths.bare) };
    for (const [i, name] of order.entries()) {
      ctx.signal.throwIfAborted();
      ctx.progress(`${phase} (${tool.name}, ${name})`, i, order.length);
      const block = await tool.run(paths[name], servers[name], seconds, `${phase}-${name}-${i}.log`);
      for (const x of block) rtts[name].push(x);
      blocks.push({ path: name, transactions: block.length, p50: quantile(block, 0.5) });
    }
    ctx.progress(phase, order.length, order.length);
    return { rtts, blocks };
  } finally {
    for (const server of started) server.stop();
  }
}
