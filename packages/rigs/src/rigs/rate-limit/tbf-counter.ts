/**
 * Reading what a sandbox's rate limit let through on Linux: the byte counter of the root tbf on the limit's ifb
 * (cubenet's tc limiter: the sandbox's host-side ingress is redirected to the ifb, whose tbf enforces the rate).
 * The kernel counts a segmentation-offload packet as the frames it becomes on a wire (qdisc_pkt_len: every
 * segment's headers), the same bytes tbf's rate is enforced on, unlike the interface counters, which count one set
 * of headers per offloaded packet.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Bytes the root tbf has sent (`tc -s -j qdisc show dev IFB`). */
export function parseTbfSentBytes(json: string): number {
  const qdiscs = JSON.parse(json) as Array<{ kind?: string; root?: boolean; bytes?: number }>;
  const tbf = qdiscs.find((q) => q.kind === 'tbf' && q.root);
  if (!tbf || typeof tbf.bytes !== 'number')
    throw new Error('no root tbf qdisc with a byte counter in `tc -s -j qdisc show`');
  return tbf.bytes;
}

/**
 * Reads tbf's counter through one long-lived `tc -s -j -batch -` (each command's JSON comes back as one line), so a
 * reading costs a round trip on a pipe instead of a process spawn, whose tens of milliseconds under load would
 * blur the instant the counter was read. Each reading is timed at the midpoint of its round trip.
 */
export function tbfCounterReader(
  tc: ChildProcess,
  ifb: string,
): { read(): Promise<{ bytes: number; t: number }>; close(): void } {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifb)) throw new Error(`not an interface name: ${JSON.stringify(ifb)}`);
  const waiting: Array<{ resolve: (line: string) => void; reject: (e: Error) => void }> = [];
  let failure: Error | undefined;
  const lines = createInterface({ input: tc.stdout! });
  lines.on('line', (line) => waiting.shift()?.resolve(line));
  tc.once('exit', (code, signal) => {
    failure = new Error(`tc -batch exited (${signal ?? `code ${code}`})`);
    for (const w of waiting.splice(0)) w.reject(failure);
  });
  return {
    async read() {
      if (failure) throw failure;
      const t0 = performance.now();
      const line = await new Promise<string>((resolve, reject) => {
        waiting.push({ resolve, reject });
        tc.stdin!.write(`qdisc show dev ${ifb}\n`);
      });
      const t1 = performance.now();
      return { bytes: parseTbfSentBytes(line), t: (t0 + t1) / 2 };
    },
    close() {
      lines.close();
      tc.stdin!.end();
    },
  };
}

export const TC_BATCH_ARGV = ['tc', '-s', '-j', '-batch', '-'] as const;
