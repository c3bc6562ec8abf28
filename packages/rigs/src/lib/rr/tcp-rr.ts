/**
 * tcp-rr (tcp-rr.c beside this file, compiled for the run): request/response for IPv4 and IPv6, because Debian 12's
 * sockperf 3.7 cannot use IPv6. Like sockperf ping-pong (sockperf.ts) it keeps one 14-byte message in
 * flight over TCP with Nagle off, and both ends are pinned per the path's placement.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChecked } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import { pinnedArgv } from './cpu-placement.ts';
import { watchServer, type RrPath, type RrServer, type RrSide } from './rr-path.ts';

export const TCP_RR_SOURCE = fileURLToPath(new URL('./tcp-rr.c', import.meta.url));

/** Compiles tcp-rr into the run's temporary folder; returns the binary's path. */
export async function buildTcpRr(ctx: RigContext): Promise<string> {
  const bin = join(ctx.tmpdir, 'tcp-rr');
  await runChecked(ctx.runner, ['cc', '-O2', '-o', bin, TCP_RR_SOURCE], { timeoutMs: 60_000 });
  return bin;
}

/** Starts a tcp-rr server (pinned per the path's placement) and resolves once it prints that it listens. */
export async function startTcpRrServer(ctx: RigContext, bin: string, path: RrPath): Promise<RrServer> {
  const argv = pinnedArgv(ctx.platform, path.placement?.server, [bin, 'server', path.address, String(path.port)]);
  const child = ctx.spawn([...path.serverExec, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  const server = watchServer(child, 'tcp-rr');
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('tcp-rr server did not start')), 10_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`tcp-rr server exited ${code}`));
      });
    });
  } catch (e) {
    server.stop();
    throw e;
  }
  return server;
}

/** One tcp-rr client run (pinned) against a listening server; returns every recorded transaction's RTT (µs). */
export async function tcpRrBlock(
  ctx: RigContext,
  bin: string,
  path: RrPath,
  server: RrServer,
  seconds: number,
  logName: string,
  warmup = 0.4,
): Promise<number[]> {
  const log = join(ctx.tmpdir, logName);
  const argv = pinnedArgv(ctx.platform, path.placement?.client, [
    bin,
    'client',
    path.address,
    String(path.port),
    String(seconds),
    String(warmup),
    log,
  ]);
  await runChecked(ctx.runner, [...path.clientExec, ...argv], { timeoutMs: (seconds + warmup + 30) * 1000 });
  server.check();
  const rtts = (await readFile(log, 'utf8')).split('\n').filter(Boolean).map(Number);
  if (!rtts.length) throw new Error('tcp-rr recorded no transactions');
  return rtts;
}

/** tcp-rr from `client` to a server started in `server` for this run alone, unpinned; every RTT (µs). */
export async function tcpRrRtts(
  ctx: RigContext,
  bin: string,
  client: RrSide,
  server: RrSide,
  port: number,
  seconds: number,
  warmup = 0.4,
): Promise<number[]> {
  const path: RrPath = { clientExec: client.exec, serverExec: server.exec, address: server.address, port };
  const running = await startTcpRrServer(ctx, bin, path);
  try {
    return await tcpRrBlock(ctx, bin, path, running, seconds, `tcp-rr-${port}.txt`, warmup);
  } finally {
    running.stop();
  }
}
