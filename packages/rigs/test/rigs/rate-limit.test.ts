import { describe, expect, it } from 'vitest';
import { renderSandboxAnchor } from '@coppice/runtime/net/firewall/pf/render.ts';
import { parsePolicy, parseSandboxId } from '@coppice/runtime/net/validate.ts';
import { createFreeBsdHost } from '../../../runtime/test/freebsd-host/index.ts';
import { dnctlConfigArgv, dnctlDeleteArgv, pipeNumber, withDnpipe } from '../../src/rigs/rate-limit/dummynet.ts';
import { goodputAsFrames, parseIperfJson } from '../../src/rigs/rate-limit/iperf3.ts';
import { parseTbfSentBytes, shaperArgvs } from '../../src/rigs/rate-limit/linux-shaper.ts';
import { withinCheck } from '../../src/rigs/rate-limit/within.ts';

// Trimmed from real `iperf3 3.12 -c … -O 1 -i 1 -J --get-server-output` output (server started with -J).
const IPERF = JSON.stringify({
  start: { connected: [], version: 'iperf 3.12', tcp_mss_default: 1448, sock_bufsize: 0 },
  intervals: [
    { streams: [], sum: { start: 0, end: 1.000612, seconds: 1.0006, bytes: 13107200, bits_per_second: 104793012.1, retransmits: 0, omitted: true, sender: true } },
    { streams: [], sum: { start: 8.1e-5, end: 1.00074, seconds: 1.0008, bytes: 12058624, bits_per_second: 96392118.7, retransmits: 0, omitted: false, sender: true } },
  ],
  end: {
    sum_sent: { start: 0, end: 1.999642, seconds: 1.999642, bytes: 12058624, bits_per_second: 96242118.2, retransmits: 0, sender: true },
    sum_received: { start: 0, end: 1.999642, seconds: 1.999642, bytes: 11948032, bits_per_second: 95601311.4, sender: true },
  },
  server_output_json: {
    start: {},
    intervals: [
      { streams: [], sum: { start: 0, end: 1.000806, seconds: 1.0008, bytes: 12150000, bits_per_second: 97121640.5, omitted: true, sender: false } },
      { streams: [], sum: { start: 2.4e-5, end: 1.001228, seconds: 1.0012, bytes: 11970000, bits_per_second: 95641000.2, omitted: false, sender: false } },
    ],
    end: {},
  },
});

describe('rate-limit measurement', () => {
  it('reads iperf3 goodput, MSS, retransmits and both sides\' intervals', () => {
    const r = parseIperfJson(IPERF);
    expect(r.receivedBitsPerSecond).toBeCloseTo(95601311.4);
    expect(r.mss).toBe(1448);
    expect(r.retransmits).toBe(0);
    expect(r.senderIntervals.map((i) => i.omitted)).toEqual([true, false]);
    expect(r.receiverIntervals[1]!.bitsPerSecond).toBeCloseTo(95641000.2);
    expect(() => parseIperfJson('{"error":"unable to connect to server: Connection refused"}')).toThrow(/Connection refused/);
    expect(() => parseIperfJson('{"start":{}}')).toThrow(/sum_received/);
  });

  it('converts goodput to Ethernet frames: 95.6 Mbit/s of 1448-byte segments is 100 Mbit/s of 1514-byte frames', () => {
    expect(goodputAsFrames(95.64, 1448)).toBeCloseTo(100.0, 1);
    expect(() => goodputAsFrames(95, 0)).toThrow(/MSS/);
  });

  it('reads the byte counter of the root tbf from `tc -s -j qdisc show`', () => {
    const real = '[{"kind":"tbf","handle":"8011:","root":true,"refcnt":2,"options":{"rate":12500000,"burst":250000,"lat":50000},"bytes":37546201,"packets":24801,"drops":0,"overlimits":1822,"requeues":0,"backlog":0,"qlen":0}]';
    expect(parseTbfSentBytes(real)).toBe(37546201);
    expect(() => parseTbfSentBytes('[{"kind":"noqueue","root":true,"bytes":0}]')).toThrow(/no root tbf/);
  });

  it('judges the rate over the whole window and reports the intervals that strayed', () => {
    expect(withinCheck([99.1, 100.4, 98.7], 100, 0.05).ok).toBe(true);
    const oneOut = withinCheck([99, 100, 93.0, 101], 100, 0.05);
    expect(oneOut.ok).toBe(true);
    expect(oneOut.detail).toMatch(/mean 98\.3 Mbit\/s \(-1\.8%\) of 100 configured; 3 of 4 1 s intervals within ±5% \(min 93\.0, max 101\.0\)/);
    expect(withinCheck([93, 94, 94.9], 100, 0.05).ok).toBe(false);
    expect(withinCheck([105.2, 106, 104.9], 100, 0.05).ok).toBe(false);
    expect(withinCheck([], 100, 0.05)).toEqual({ ok: false, detail: 'no intervals measured' });
  });

  it('builds the shaper (ingress → ifb → tbf) and rejects names and values a command line must not carry', () => {
    const spec = { device: 'cgr-e0a1b2c3d', ifb: 'cgxr-ifb', rateMbit: 100, burstBytes: 250_000, latencyMs: 50 };
    expect(shaperArgvs(spec).map((a) => a.join(' '))).toEqual([
      'ip link add cgxr-ifb type ifb',
      'ip link set cgxr-ifb up',
      'tc qdisc add dev cgxr-ifb root tbf rate 100mbit burst 250000 latency 50ms',
      'tc qdisc add dev cgr-e0a1b2c3d handle ffff: ingress',
      'tc filter add dev cgr-e0a1b2c3d parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev cgxr-ifb',
    ]);
    expect(() => shaperArgvs({ ...spec, device: 'eth0; reboot' })).toThrow(/device/);
    expect(() => shaperArgvs({ ...spec, ifb: 'a-name-far-too-long' })).toThrow(/ifb/);
    expect(() => shaperArgvs({ ...spec, rateMbit: 0 })).toThrow(/rate/);
    expect(() => shaperArgvs({ ...spec, burstBytes: 100 })).toThrow(/burst/);
  });
});

describe('rate-limit on FreeBSD (dummynet)', () => {
  const addresses = { ipv4: '10.77.0.5', ipv6: 'fd77::5' };
  const anchor = () =>
    renderSandboxAnchor({
      tag: 'cpc_pass',
      id: parseSandboxId('aaaaaaaaaaaa'),
      addresses,
      policy: parsePolicy({ allowInternetAccess: true, allowOut: ['192.0.2.0/24'], dnsAllow: ['192.0.2.53'] }),
      forwards: [{ protocol: 'tcp', hostPort: 2222, sandboxPort: 22 }],
      endpointGroup: 'cpc_ep',
      ipv4Subnet: '10.77.0.0/24',
      ipv6Subnet: 'fd77::/64',
      hostInterface: 'epair5a',
    });

  it('configures and deletes a pipe per dnctl(8)', () => {
    expect(dnctlConfigArgv(5, 100)).toEqual(['dnctl', 'pipe', '5', 'config', 'bw', '100Mbit/s']);
    expect(dnctlDeleteArgv(5)).toEqual(['dnctl', 'pipe', 'delete', '5']);
    expect(() => pipeNumber(0)).toThrow(/1-65535/);
    expect(() => pipeNumber(65536)).toThrow(/1-65535/);
    expect(() => dnctlConfigArgv(5, 1.5)).toThrow(/whole number/);
  });

  it('puts the pipe on the sandbox\'s egress passes only, and the model\'s pfctl accepts the anchor', async () => {
    const text = withDnpipe(anchor(), addresses, 5);
    const piped = text.split('\n').filter((l) => l.includes('dnpipe 5'));
    expect(piped.length).toBeGreaterThanOrEqual(3); // allowOut, DNS, internet
    for (const l of piped) expect(l).toMatch(/^pass in quick on epair5a .*from \{ 10\.77\.0\.5, fd77::5 \}/);
    expect(text.split('\n').filter((l) => l.includes('rdr-to') || l.startsWith('block') || l.includes('icmp6')).some((l) => l.includes('dnpipe'))).toBe(false);
    const host = createFreeBsdHost();
    const r = await host.run(['pfctl', '-a', 'cube/sandbox-aaaaaaaaaaaa', '-f', '-'], { input: text });
    expect(r.code, `${r.stderr}\n${text}`).toBe(0);
    expect(() => withDnpipe('block drop in quick all\n', addresses, 5)).toThrow(/no egress pass/);
  });
});
