/**
 * A sandbox's egress limit on Linux, as rig plumbing until cubenet has one (see the report to engineer D): what a
 * sandbox sends arrives on its host-side interface (veth host end / tap) as *ingress*, and Linux shapes only on
 * egress, so the interface's ingress redirects everything (u32 match-all, mirred) to an ifb device whose egress is a
 * token bucket (tbf) at the configured rate. The `police` action would avoid the ifb but is not built into this
 * kernel (and a policer drops bursts where a shaper queues them). The rate is tc's: bits per second including the
 * Ethernet header of every frame ("100mbit" = 100 000 000 bit/s).
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { runChecked, type CommandRunner } from '@coppice/runtime';

export interface ShaperSpec {
  /** The sandbox's host-side interface (its traffic enters the host here). */
  device: string;
  /** The ifb device the rig creates for it. */
  ifb: string;
  rateMbit: number;
  /** Bucket size in bytes: how much may pass at line rate after an idle spell. */
  burstBytes: number;
  /** Longest a packet may wait in the queue before it is dropped. */
  latencyMs: number;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

export function validateShaper(s: ShaperSpec): ShaperSpec {
  for (const [field, name] of [['device', s.device], ['ifb', s.ifb]] as const) {
    if (!IFNAME.test(name)) throw new Error(`shaper ${field}: expected an interface name (≤ 15 of [A-Za-z0-9_.-]), got ${JSON.stringify(name)}`);
  }
  if (!(Number.isFinite(s.rateMbit) && s.rateMbit > 0 && s.rateMbit <= 100_000)) throw new Error(`shaper rate: expected 0 < Mbit/s ≤ 100000, got ${s.rateMbit}`);
  if (!(Number.isInteger(s.burstBytes) && s.burstBytes >= 1600)) throw new Error(`shaper burst: expected an integer ≥ 1600 bytes (one full frame), got ${s.burstBytes}`);
  if (!(Number.isInteger(s.latencyMs) && s.latencyMs >= 1 && s.latencyMs <= 10_000)) throw new Error(`shaper latency: expected 1–10000 ms, got ${s.latencyMs}`);
  return s;
}

/** The commands that install the limit, in order. */
export function shaperArgvs(spec: ShaperSpec): string[][] {
  const s = validateShaper(spec);
  return [
    ['ip', 'link', 'add', s.ifb, 'type', 'ifb'],
    ['ip', 'link', 'set', s.ifb, 'up'],
    ['tc', 'qdisc', 'add', 'dev', s.ifb, 'root', 'tbf', 'rate', `${s.rateMbit}mbit`, 'burst', String(s.burstBytes), 'latency', `${s.latencyMs}ms`],
    ['tc', 'qdisc', 'add', 'dev', s.device, 'handle', 'ffff:', 'ingress'],
    ['tc', 'filter', 'add', 'dev', s.device, 'parent', 'ffff:', 'protocol', 'all', 'u32', 'match', 'u32', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', s.ifb],
  ];
}

/** Installs the limit; its removal is registered with `defer` first, so a failure midway removes what was made. */
export async function installShaper(runner: CommandRunner, spec: ShaperSpec, defer: (cleanup: () => Promise<void>) => void): Promise<string[][]> {
  const argvs = shaperArgvs(spec);
  defer(() => removeShaper(runner, spec));
  for (const argv of argvs) await runChecked(runner, argv, { timeoutMs: 10_000 });
  return argvs;
}

export async function removeShaper(runner: CommandRunner, spec: ShaperSpec): Promise<void> {
  const s = validateShaper(spec);
  if ((await runner.run(['ip', 'link', 'show', 'dev', s.device])).code === 0) {
    const qdiscs = await runChecked(runner, ['tc', 'qdisc', 'show', 'dev', s.device]);
    if (/qdisc ingress ffff:/.test(qdiscs.stdout)) await runChecked(runner, ['tc', 'qdisc', 'del', 'dev', s.device, 'ingress']);
  }
  if ((await runner.run(['ip', 'link', 'show', 'dev', s.ifb])).code === 0) await runChecked(runner, ['ip', 'link', 'del', s.ifb]);
}

/**
 * Bytes the shaper's root tbf has sent (`tc -s -j qdisc show dev IFB`). The kernel counts a segmentation-offload
 * packet as the frames it becomes on a wire (qdisc_pkt_len: every segment's headers), the same bytes tbf's rate is
 * enforced on, unlike the interface counters, which count one set of headers per offloaded packet.
 */
export function parseTbfSentBytes(json: string): number {
  const qdiscs = JSON.parse(json) as Array<{ kind?: string; root?: boolean; bytes?: number }>;
  const tbf = qdiscs.find((q) => q.kind === 'tbf' && q.root);
  if (!tbf || typeof tbf.bytes !== 'number') throw new Error('no root tbf qdisc with a byte counter in `tc -s -j qdisc show`');
  return tbf.bytes;
}

/**
 * Reads tbf's counter through one long-lived `tc -s -j -batch -` (each command's JSON comes back as one line), so a
 * reading costs a round trip on a pipe instead of a process spawn, whose tens of milliseconds under load would
 * blur the instant the counter was read. Each reading is timed at the midpoint of its round trip.
 */
export function tbfCounterReader(tc: ChildProcess, ifb: string): { read(): Promise<{ bytes: number; t: number }>; close(): void } {
  validateShaper({ device: ifb, ifb, rateMbit: 1, burstBytes: 1600, latencyMs: 1 });
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
