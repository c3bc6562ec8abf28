/** Reading iperf3's --json output (client side, with --get-server-output for the receiver's own intervals). */

export interface IperfInterval {
  start: number;
  end: number;
  bitsPerSecond: number;
  omitted: boolean;
}

export interface IperfRun {
  /** Receiver-side goodput over the whole non-omitted run (end.sum_received), bit/s. */
  receivedBitsPerSecond: number;
  /** Sender-side intervals (the client's). */
  senderIntervals: IperfInterval[];
  /** Receiver-side intervals (the server's, via --get-server-output); empty if the server sent none. */
  receiverIntervals: IperfInterval[];
  retransmits?: number;
  /** The sender's TCP maximum segment size (payload bytes per segment), if iperf3 reported it. */
  mss?: number;
}

interface RawInterval {
  sum: { start: number; end: number; bits_per_second: number; omitted?: boolean };
}

function intervals(raw: RawInterval[] | undefined): IperfInterval[] {
  return (raw ?? []).map((i) => ({
    start: i.sum.start,
    end: i.sum.end,
    bitsPerSecond: i.sum.bits_per_second,
    omitted: i.sum.omitted ?? false,
  }));
}

export function parseIperfJson(text: string): IperfRun {
  const json = JSON.parse(text) as {
    error?: string;
    start?: { tcp_mss_default?: number; tcp_mss?: number };
    intervals?: RawInterval[];
    end?: { sum_received?: { bits_per_second: number }; sum_sent?: { retransmits?: number } };
    server_output_json?: { intervals?: RawInterval[] };
  };
  if (json.error) throw new Error(`iperf3: ${json.error}`);
  const received = json.end?.sum_received?.bits_per_second;
  if (typeof received !== 'number') throw new Error('iperf3 output has no end.sum_received');
  return {
    receivedBitsPerSecond: received,
    senderIntervals: intervals(json.intervals),
    receiverIntervals: intervals(json.server_output_json?.intervals),
    ...(typeof (json.start?.tcp_mss ?? json.start?.tcp_mss_default) === 'number'
      ? { mss: (json.start?.tcp_mss ?? json.start?.tcp_mss_default)! }
      : {}),
    ...(json.end?.sum_sent?.retransmits !== undefined ? { retransmits: json.end.sum_sent.retransmits } : {}),
  };
}

/**
 * Goodput as Ethernet frames: each MSS-sized TCP segment of payload travels with 66 bytes of headers (Ethernet 14,
 * IPv4 20, TCP 20 + 12 of timestamp option), the bytes a link-layer rate limit counts.
 */
export function goodputAsFrames(goodputMbit: number, mss: number): number {
  if (!(mss > 0)) throw new Error(`bad MSS ${mss}`);
  return (goodputMbit * (mss + FRAME_OVERHEAD_BYTES)) / mss;
}

export const FRAME_OVERHEAD_BYTES = 14 + 20 + 20 + 12;

/**
 * Goodput as IP packets: 52 bytes of headers per MSS-sized segment (IPv4 20, TCP 20 + 12 of timestamp option), the
 * bytes dummynet counts and shapes when pf sends a packet to a pipe (it sees the IP packet, no link-layer header).
 */
export function goodputAsIpPackets(goodputMbit: number, mss: number): number {
  if (!(mss > 0)) throw new Error(`bad MSS ${mss}`);
  return (goodputMbit * (mss + PACKET_OVERHEAD_BYTES)) / mss;
}

export const PACKET_OVERHEAD_BYTES = 20 + 20 + 12;
