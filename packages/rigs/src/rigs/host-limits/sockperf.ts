/**
 * sockperf TCP ping-pong between two network stacks, the one implementation host-limits (namespace-rr) and net-rr
 * share: a server pinned to one CPU in one stack, a client pinned to another in the other stack, every
 * transaction's round trip read from the client's --full-log.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { evenSubsample } from '@coppice/results-schema';
import { runChecked } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import { pinnedArgv, type RrPlacement } from './cpu-placement.ts';
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

/**
 * One request/response path: where each end runs, the server's address and port, and the CPUs they are pinned to
 * (left to the scheduler without a placement).
 */
export interface RrPath {
  /** argv prefixes that run a command inside the client's / the server's stack (`ip netns exec NS`, `jexec JAIL`). */
  clientExec: string[];
  serverExec: string[];
  address: string;
  port: number;
  placement?: RrPlacement;
}

export type UntilListening = (ctx: RigContext, exec: string[], port: number) => Promise<void>;

/** A server that outlives several client runs; `check` throws if it has exited. */
export interface RrServer {
  check(): void;
  stop(): void;
}

/** Watches a spawned server so a client run that follows its death fails with the server's exit, not a timeout. */
export function watchServer(child: ChildProcess, tool: string): RrServer {
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `${tool} server exited (${signal ?? `code ${code}`})`));
  return {
    check() {
      if (exited) throw new Error(exited);
    },
    stop() {
      if (exited === undefined) child.kill('SIGKILL');
    },
  };
}

export async function startSockperfServer(ctx: RigContext, path: RrPath, untilListening: UntilListening): Promise<RrServer> {
  const argv = pinnedArgv(ctx.platform, path.placement?.server, ['sockperf', 'server', '--tcp', '-i', path.address, '-p', String(path.port)]);
  const server = watchServer(ctx.spawn([...path.serverExec, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] }), 'sockperf');
  try {
    await untilListening(ctx, path.serverExec, path.port);
    server.check();
  } catch (e) {
    server.stop();
    throw e;
  }
  return server;
}

/** The client's argv inside its stack (without the exec prefix). sockperf's -t takes whole seconds only. */
export function sockperfClientArgv(platform: RigContext['platform'], path: RrPath, seconds: number, log: string): string[] {
  if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`sockperf runs whole seconds (at least 1), got ${seconds}`);
  return pinnedArgv(platform, path.placement?.client, [
    'sockperf', 'ping-pong', '--tcp', '-i', path.address, '-p', String(path.port), '-t', String(seconds), '--full-rtt', '--full-log', log,
  ]);
}

/**
 * One client run against a server already listening: 14-byte messages, one in flight, back to back for `seconds`
 * after sockperf's own 400 ms warm-up; returns every recorded transaction's round trip (µs).
 */
export async function sockperfBlock(ctx: RigContext, path: RrPath, server: RrServer, seconds: number, logName: string): Promise<number[]> {
  const log = join(ctx.tmpdir, logName);
  await runChecked(ctx.runner, [...path.clientExec, ...sockperfClientArgv(ctx.platform, path, seconds, log)], { timeoutMs: (seconds + 30) * 1000 });
  server.check();
  const rtts = parseSockperfFullLog(await readFile(log, 'utf8'));
  if (rtts.length === 0) throw new Error('sockperf --full-log recorded no transactions');
  return rtts;
}

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
  const path: RrPath = { clientExec: pair.execA, serverExec: pair.execB, address: pair.addrB, port: options.port, placement: options.placement };
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
