import { describe, expect, it } from 'vitest';
import { goodputAsFrames, parseIperfJson } from '../../src/rigs/rate-limit/iperf3.ts';
import { parseTbfSentBytes } from '../../src/rigs/rate-limit/tbf-counter.ts';
import { withinCheck } from '../../src/rigs/rate-limit/within.ts';

// Trimmed from real `iperf3 3.12 -c … -O 1 -i 1 -J --get-server-output` output (server started with -J).
const IPERF = JSON.stringify({
  start: { connected: [], version: 'iperf 3.12', tcp_mss_default: 1448, sock_bufsize: 0 },
  intervals: [
    {
      streams: [],
      sum: {
        start: 0,
        end: 1.000612,
        seconds: 1.0006,
        bytes: 13107200,
        bits_per_second: 104793012.1,
        retransmits: 0,
        omitted: true,
        sender: true,
      },
    },
    {
      streams: [],
      sum: {
        start: 8.1e-5,
        end: 1.00074,
        seconds: 1.0008,
        bytes: 12058624,
        bits_per_second: 96392118.7,
        retransmits: 0,
        omitted: false,
        sender: true,
      },
    },
  ],
  end: {
    sum_sent: {
      start: 0,
      end: 1.999642,
      seconds: 1.999642,
      bytes: 12058624,
      bits_per_second: 96242118.2,
      retransmits: 0,
      sender: true,
    },
    sum_received: {
      start: 0,
      end: 1.999642,
      seconds: 1.999642,
      bytes: 11948032,
      bits_per_second: 95601311.4,
      sender: true,
    },
  },
  server_output_json: {
    start: {},
    intervals: [
      {
        streams: [],
        sum: {
          start: 0,
          end: 1.000806,
          seconds: 1.0008,
          bytes: 12150000,
          bits_per_second: 97121640.5,
          omitted: true,
          sender: false,
        },
      },
      {
        streams: [],
        sum: {
          start: 2.4e-5,
          end: 1.001228,
          seconds: 1.0012,
          bytes: 11970000,
          bits_per_second: 95641000.2,
          omitted: false,
          sender: false,
        },
      },
    ],
    end: {},
  },
});

describe('rate-limit measurement', () => {
  it("reads iperf3 goodput, MSS, retransmits and both sides' intervals", () => {
    const r = parseIperfJson(IPERF);
    expect(r.receivedBitsPerSecond).toBeCloseTo(95601311.4);
    expect(r.mss).toBe(1448);
    expect(r.retransmits).toBe(0);
    expect(r.senderIntervals.map((i) => i.omitted)).toEqual([true, false]);
    expect(r.receiverIntervals[1]!.bitsPerSecond).toBeCloseTo(95641000.2);
    expect(() => parseIperfJson('{"error":"unable to connect to server: Connection refused"}')).toThrow(
      /Connection refused/,
    );
    expect(() => parseIperfJson('{"start":{}}')).toThrow(/sum_received/);
  });

  it('converts goodput to Ethernet frames: 95.6 Mbit/s of 1448-byte segments is 100 Mbit/s of 1514-byte frames', () => {
    expect(goodputAsFrames(95.64, 1448)).toBeCloseTo(100.0, 1);
    expect(() => goodputAsFrames(95, 0)).toThrow(/MSS/);
  });

  it('reads the byte counter of the root tbf from `tc -s -j qdisc show`', () => {
    const real =
      '[{"kind":"tbf","handle":"8011:","root":true,"refcnt":2,"options":{"rate":12500000,"burst":250000,"lat":50000},"bytes":37546201,"packets":24801,"drops":0,"overlimits":1822,"requeues":0,"backlog":0,"qlen":0}]';
    expect(parseTbfSentBytes(real)).toBe(37546201);
    expect(() => parseTbfSentBytes('[{"kind":"noqueue","root":true,"bytes":0}]')).toThrow(/no root tbf/);
  });

  it('judges the window rate and every interval against the ceiling, and reports the intervals below', () => {
    expect(withinCheck([99.1, 100.4, 98.7], 100, 0.05).ok).toBe(true);
    const slowSecond = withinCheck([99, 100, 93.0, 101], 100, 0.05);
    expect(slowSecond.ok).toBe(true);
    expect(slowSecond.below).toBe(1);
    expect(slowSecond.detail).toMatch(
      /window rate 98\.3 Mbit\/s \(-1\.8%\) of 100 configured; of 4 1 s intervals 3 within ±5%, 0 above \+5% \(judged: must be 0\), 1 below -5% \(reported\) \(min 93\.0, max 101\.0\)/,
    );
    expect(withinCheck([93, 94, 94.9], 100, 0.05).ok).toBe(false);
    expect(withinCheck([105.2, 106, 104.9], 100, 0.05).ok).toBe(false);
    // One second over the ceiling fails the limit even when the window rate is fine.
    const burst = withinCheck([97, 98, 106, 99], 100, 0.05);
    expect(burst.ok).toBe(false);
    expect(burst.above).toBe(1);
    expect(withinCheck([], 100, 0.05)).toMatchObject({ ok: false, detail: 'no intervals measured' });
  });
});
