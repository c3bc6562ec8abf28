/**
 * Reading what a sandbox's rate limit let through on FreeBSD: the counters of its dummynet pipe (cubenet's dummynet
 * limiter: pf sends the sandbox's egress to pipe N with `dnpipe N`). `dnctl pipe show N` prints, under the pipe's
 * scheduler, one line per flow: bucket, protocol, source, destination, then Tot_pkt/bytes (packets and bytes that
 * arrived at the pipe, counted before dummynet decides to drop: sys/netpfil/ipfw/ip_dn_io.c dn_enqueue), Pkt/Byte
 * (queued now) and Drp (packets dropped). The bytes the pipe passed are therefore the arrived bytes minus those
 * queued and those dropped; dummynet counts drops in packets only, so dropped bytes are taken at the flow's mean
 * packet size (a saturating TCP sender's packets through the pipe are nearly all full-size segments).
 * dnctl has no batch mode: each reading is one `dnctl pipe show N`, timed at the midpoint of its run.
 */
import { runChecked, type CommandRunner } from '@coppice/runtime';

export interface PipeFlowCounters {
  totalPackets: number;
  totalBytes: number;
  queuedBytes: number;
  drops: number;
}

/** The flow lines of pipe `pipe` in `dnctl pipe show` output, summed (a pipe without a mask has one flow). */
export function parsePipeFlows(text: string, pipe: number): PipeFlowCounters {
  const id = String(pipe).padStart(5, '0');
  let inPipe = false;
  let seen = false;
  const sum: PipeFlowCounters = { totalPackets: 0, totalBytes: 0, queuedBytes: 0, drops: 0 };
  for (const line of text.split('\n')) {
    const head = /^(\d{5}):\s/.exec(line);
    if (head) {
      inPipe = head[1] === id;
      seen ||= inPipe;
      continue;
    }
    if (!inPipe) continue;
    // "  0 ip           0.0.0.0/0             0.0.0.0/0     1234  1789456  0    0   3" (IPv4 flow: src and dst are ADDR/PORT)
    const m = /^\s*\d+\*?\s+\S+\s+\S+\/\d+\s+\S+\/\d+\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (!m) continue;
    sum.totalPackets += Number(m[1]);
    sum.totalBytes += Number(m[2]);
    sum.queuedBytes += Number(m[4]);
    sum.drops += Number(m[5]);
  }
  if (!seen) throw new Error(`dnctl pipe show lists no pipe ${pipe}`);
  return sum;
}

/** Bytes the pipe passed: arrived − queued − dropped (dropped at the mean packet size). */
export function passedBytes(c: PipeFlowCounters): number {
  if (c.totalPackets === 0) return 0;
  return c.totalBytes - c.queuedBytes - c.drops * (c.totalBytes / c.totalPackets);
}

export function dummynetCounterReader(
  runner: CommandRunner,
  pipe: number,
): { read(): Promise<{ bytes: number; t: number }>; close(): void } {
  if (!Number.isInteger(pipe) || pipe < 1 || pipe > 65535) throw new Error(`not a dummynet pipe: ${pipe}`);
  return {
    async read() {
      const t0 = performance.now();
      const shown = await runChecked(runner, ['dnctl', 'pipe', 'show', String(pipe)]);
      const t1 = performance.now();
      return { bytes: passedBytes(parsePipeFlows(shown.stdout, pipe)), t: (t0 + t1) / 2 };
    },
    close() {},
  };
}
