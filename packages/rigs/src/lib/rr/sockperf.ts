/**
 * sockperf TCP ping-pong between two network stacks, the one implementation host-limits (namespace-rr), net-rr and
 * policy-under-load share: a server pinned to one CPU in one stack, a client pinned to another in the other stack, every
 * transaction's round trip read from the client's --full-log.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChecked } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import { untilListening } from '../net/until-listening.ts';
import { pinnedArgv } from './cpu-placement.ts';
import { watchServer, type RrPath, type RrServer, type RrSide, type UntilListening } from './rr-path.ts';

/** Round trips (µs) from a sockperf --full-log: rows "packet, txTime(sec), rxTime(sec), rtt(usec)" after a text header. */
export function parseSockperfFullLog(text: string): number[] {
  const rtts: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\d+\s*,\s*[\d.]+\s*,\s*[\d.]+\s*,\s*([\d.]+)\s*$/.exec(line);
    if (m) rtts.push(Number(m[1]));
  }
  return rtts;
}

export async function startSockperfServer(
  ctx: RigContext,
  path: RrPath,
  untilListening: UntilListening,
): Promise<RrServer> {
  const argv = pinnedArgv(ctx.platform, path.placement?.server, [
    'sockperf',
    'server',
    '--tcp',
    '-i',
    path.address,
    '-p',
    String(path.port),
  ]);
  const server = watchServer(
    ctx.spawn([...path.serverExec, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] }),
    'sockperf',
  );
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
export function sockperfClientArgv(
  platform: RigContext['platform'],
  path: RrPath,
  seconds: number,
  log: string,
): string[] {
  if (!Number.isInteger(seconds) || seconds < 1)
    throw new Error(`sockperf runs whole seconds (at least 1), got ${seconds}`);
  return pinnedArgv(platform, path.placement?.client, [
    'sockperf',
    'ping-pong',
    '--tcp',
    '-i',
    path.address,
    '-p',
    String(path.port),
    '-t',
    String(seconds),
    '--full-rtt',
    '--full-log',
    log,
  ]);
}

/**
 * One client run against a server already listening: 14-byte messages, one in flight, back to back for `seconds`
 * after sockperf's own 400 ms warm-up; returns every recorded transaction's round trip (µs).
 */
export async function sockperfBlock(
  ctx: RigContext,
  path: RrPath,
  server: RrServer,
  seconds: number,
  logName: string,
): Promise<number[]> {
  const log = join(ctx.tmpdir, logName);
  await runChecked(ctx.runner, [...path.clientExec, ...sockperfClientArgv(ctx.platform, path, seconds, log)], {
    timeoutMs: (seconds + 30) * 1000,
  });
  server.check();
  const rtts = parseSockperfFullLog(await readFile(log, 'utf8'));
  if (rtts.length === 0) throw new Error('sockperf --full-log recorded no transactions');
  return rtts;
}

/** sockperf ping-pong from `client` to a server started in `server` for this run alone, unpinned; every RTT (µs). */
export async function sockperfRtts(
  ctx: RigContext,
  client: RrSide,
  server: RrSide,
  port: number,
  seconds: number,
): Promise<number[]> {
  const path: RrPath = { clientExec: client.exec, serverExec: server.exec, address: server.address, port };
  const running = await startSockperfServer(ctx, path, untilListening);
  try {
    return await sockperfBlock(ctx, path, running, seconds, `sockperf-${port}.csv`);
  } finally {
    running.stop();
  }
}
