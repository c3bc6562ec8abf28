/**
 * Request/response measurement between two sandboxes: sockperf ping-pong (IPv4; raw per-transaction round trips
 * from --full-log) and tcp-rr (tcp-rr.c beside this file, compiled for the run: IPv4 and IPv6, because Debian 12's
 * sockperf 3.7 cannot use IPv6). Both keep one 14-byte message in flight over TCP with Nagle off.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evenSubsample } from '@coppice/results-schema';
import { runChecked } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import { parseSockperfFullLog } from '../host-limits/sockperf.ts';
import { untilListening } from '../lifecycle/rig-cubenet.ts';

export const TCP_RR_SOURCE = fileURLToPath(new URL('./tcp-rr.c', import.meta.url));

/** Compiles tcp-rr into the run's temporary folder; returns the binary's path. */
export async function buildTcpRr(ctx: RigContext): Promise<string> {
  const bin = join(ctx.tmpdir, 'tcp-rr');
  await runChecked(ctx.runner, ['cc', '-O2', '-o', bin, TCP_RR_SOURCE], { timeoutMs: 60_000 });
  return bin;
}

export interface RrSide {
  exec: string[];
  address: string;
}

/** sockperf ping-pong from `client` to a sockperf server in `server`; returns every transaction's RTT (µs). */
export async function sockperfRtts(ctx: RigContext, client: RrSide, server: RrSide, port: number, seconds: number): Promise<number[]> {
  const child = ctx.spawn([...server.exec, 'sockperf', 'server', '--tcp', '-i', server.address, '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await untilListening(ctx, server.exec, port);
    const log = join(ctx.tmpdir, `sockperf-${port}.csv`);
    await runChecked(
      ctx.runner,
      [...client.exec, 'sockperf', 'ping-pong', '--tcp', '-i', server.address, '-p', String(port), '-t', String(seconds), '--full-rtt', '--full-log', log],
      { timeoutMs: (seconds + 30) * 1000 },
    );
    const rtts = parseSockperfFullLog(await readFile(log, 'utf8'));
    if (!rtts.length) throw new Error('sockperf --full-log recorded no transactions');
    return rtts;
  } finally {
    child.kill('SIGKILL');
  }
}

/** tcp-rr from `client` to a tcp-rr server in `server`; returns every transaction's RTT (µs). */
export async function tcpRrRtts(ctx: RigContext, bin: string, client: RrSide, server: RrSide, port: number, seconds: number, warmup = 0.4): Promise<number[]> {
  const child = ctx.spawn([...server.exec, bin, 'server', server.address, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
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
      child.once('exit', (code) => reject(new Error(`tcp-rr server exited ${code}`)));
    });
    const log = join(ctx.tmpdir, `tcp-rr-${port}.txt`);
    await runChecked(ctx.runner, [...client.exec, bin, 'client', server.address, String(port), String(seconds), String(warmup), log], {
      timeoutMs: (seconds + warmup + 30) * 1000,
    });
    const rtts = (await readFile(log, 'utf8')).split('\n').filter(Boolean).map(Number);
    if (!rtts.length) throw new Error('tcp-rr recorded no transactions');
    return rtts;
  } finally {
    child.kill('SIGKILL');
  }
}

export function keep(ctx: RigContext, name: string, rtts: number[], max: number): number[] {
  const kept = evenSubsample(rtts, max);
  ctx.param(`${name}Transactions`, rtts.length);
  ctx.param(`${name}Kept`, kept.length);
  return kept;
}
