import { describe, expect, it } from 'vitest';
import { dummynetState } from '../../../runtime/test/freebsd-host/dnctl.ts';
import { createFreeBsdHost, type FreeBsdHost } from '../../../runtime/test/freebsd-host/index.ts';
import { evaluate, pfKernel } from '../../../runtime/test/freebsd-host/pf-kernel.ts';
import { EDGE_NETS, openEdgeCubenet } from '../../src/lib/net/edge-cubenet.ts';
import { createExternalPeer } from '../../src/lib/net/external-peer.ts';
import { peerNames } from '../../src/lib/net/peer-link.ts';
import { dummynetCounterReader, parsePipeFlows, passedBytes } from '../../src/rigs/rate-limit/dummynet-counter.ts';
import { goodputAsIpPackets } from '../../src/rigs/rate-limit/iperf3.ts';
import { rateLimitManifest } from '../../src/rigs/rate-limit/manifest.ts';
import { preflight, RATE_PEER } from '../../src/rigs/rate-limit/rig.ts';
import {
  freebsdContext,
  modelObjects,
  NOTHING,
  useTemporaryLockDir,
  withNetworkRoutes,
} from './freebsd-rig-helpers.ts';

useTemporaryLockDir();

// `dnctl pipe show 10002` on FreeBSD while a TCP sender fills the pipe (format of sbin/ipfw/dummynet.c list_pipes/list_flow).
const SHOW = [
  '10002: 100.000 Mbit/s    0 ms burst 0',
  'q141074  50 sl. 0 flows (1 buckets) sched 75538 weight 0 lmax 0 pri 0 droptail',
  ' sched 75538 type FIFO flags 0x0 0 buckets 1 active',
  'BKT Prot ___Source IP/port____ ____Dest. IP/port____ Tot_pkt/bytes Pkt/Byte Drp',
  '  0 ip           0.0.0.0/0             0.0.0.0/0     10000 15000000 20 30000  40',
  '10003: 200.000 Mbit/s    0 ms burst 0',
  'q141075  50 sl. 0 flows (1 buckets) sched 75539 weight 0 lmax 0 pri 0 droptail',
  ' sched 75539 type FIFO flags 0x0 0 buckets 1 active',
  'BKT Prot ___Source IP/port____ ____Dest. IP/port____ Tot_pkt/bytes Pkt/Byte Drp',
  '  0 ip           0.0.0.0/0             0.0.0.0/0     99 99999 0 0 0',
  '',
].join('\n');

describe('rate-limit on FreeBSD: reading the dummynet pipe', () => {
  it("takes the pipe's own flow line and counts what it passed: arrived − queued − drops at the mean packet size", () => {
    const c = parsePipeFlows(SHOW, 10002);
    expect(c).toEqual({ totalPackets: 10000, totalBytes: 15_000_000, queuedBytes: 30_000, drops: 40 });
    expect(passedBytes(c)).toBe(15_000_000 - 30_000 - 40 * 1500);
    expect(parsePipeFlows(SHOW, 10003).totalBytes).toBe(99999);
    expect(() => parsePipeFlows(SHOW, 10004)).toThrow(/no pipe 10004/);
    // A pipe no packet has reached yet shows no flow: nothing passed.
    expect(passedBytes(parsePipeFlows(SHOW.split('\n').slice(0, 3).join('\n'), 10002))).toBe(0);
  });

  it('converts goodput to IP packets with 52 bytes of headers per segment', () => {
    expect(goodputAsIpPackets(96.53, 1448)).toBeCloseTo(100.0, 1);
    expect(() => goodputAsIpPackets(96, 0)).toThrow(/MSS/);
  });
});

describe('rate-limit on FreeBSD (host model: setup, pipe, NAT and cleanup; the model runs no traffic)', () => {
  it('declares FreeBSD with dnctl and says the FreeBSD path ran only against the model; preflight demands dummynet', async () => {
    expect(rateLimitManifest.platforms).toEqual(['linux', 'freebsd']);
    expect(rateLimitManifest.requirements.binaries.freebsd).toEqual(
      expect.arrayContaining(['pfctl', 'jail', 'jexec', 'dnctl', 'iperf3']),
    );
    expect(rateLimitManifest.requirements.notes.join(' ')).toMatch(/only against the runtime's FreeBSD host model/);
    expect(rateLimitManifest.clock).toMatch(/dnctl pipe show N/);
    const pre = (host: FreeBsdHost) =>
      preflight({ platform: 'freebsd', quick: true, runner: host, manifest: rateLimitManifest });
    expect(await pre(createFreeBsdHost({ dummynet: true }))).toEqual([]);
    expect((await pre(createFreeBsdHost())).join('\n')).toMatch(/kldload dummynet/);
  });

  it("limits the sandbox's egress through its pipe, NATs onto the peer link, reads the pipe, and leaves nothing", async () => {
    const host = withNetworkRoutes(createFreeBsdHost({ dummynet: true }));
    const ctx = freebsdContext(host, rateLimitManifest);
    const NET = EDGE_NETS['rate-limit'];
    const net = await openEdgeCubenet(ctx, NET, {
      rateLimits: true,
      egressInterface: peerNames(NET.own).hostInterface,
    });
    const peer = await createExternalPeer(ctx, RATE_PEER);
    const sandbox = await net.checkout({ policy: { allowOut: [peer.ipv4.peer] } });
    await net.setRateLimit(sandbox.id, { egressMbit: 100 });
    const pipe = 10_000 + net.ipam.hostOf(sandbox.addresses.ipv4)!;
    expect(dummynetState(host).pipes.get(pipe)).toEqual({ pipe, bandwidth: 100_000_000, delayMs: 0 });
    expect(
      pfKernel(host)
        .rulesets.get('')!
        .nat.map((r) => r.iface),
    ).toEqual(['cgxr-h', 'cgxr-h']);
    const syn = evaluate(
      host,
      {
        direction: 'in',
        iface: sandbox.endpoint.hostInterface,
        proto: 'tcp',
        src: sandbox.addresses.ipv4,
        sport: 40000,
        dst: peer.ipv4.peer,
        dport: 5201,
      },
      { createState: false },
    );
    expect(syn).toMatchObject({ action: 'pass', dnpipe: pipe });
    // The reader asks dnctl for this pipe; the model's pipes count no traffic.
    const reading = await dummynetCounterReader(host, pipe).read();
    expect(reading.bytes).toBe(0);
    expect(host.calls.at(-1)).toEqual(['dnctl', 'pipe', 'show', String(pipe)]);

    expect(await ctx.runDeferred()).toEqual([]);
    expect(modelObjects(host, NET.prefix)).toEqual(NOTHING);
    expect([...dummynetState(host).pipes.keys()]).toEqual([]);
    expect(pfKernel(host).rulesets.get('')!.nat).toEqual([]);
    expect(
      [...host.calls.map((c) => c.join(' '))].filter((c) => /cgxr-(h|p|peer)/.test(c) && /destroy|-r /.test(c)),
    ).toEqual(['jail -r cgxr-peer', 'ifconfig cgxr-h destroy']);
  });

  it('the last check names a pipe of the rig that survives its cleanup', async () => {
    const host = withNetworkRoutes(createFreeBsdHost({ dummynet: true }));
    const ctx = freebsdContext(host, rateLimitManifest);
    const NET = EDGE_NETS['rate-limit'];
    const net = await openEdgeCubenet(ctx, NET, { rateLimits: true, egressInterface: 'cgxr-h' });
    const sandbox = await net.checkout({});
    await net.setRateLimit(sandbox.id, { egressMbit: 100 });
    const pipe = 10_000 + net.ipam.hostOf(sandbox.addresses.ipv4)!;
    // A kernel whose pipe deletion does nothing.
    const runner = host.run.bind(host);
    host.run = async (argv, options) =>
      argv[0] === 'dnctl' && argv[2] === 'delete' ? { argv, code: 0, stdout: '', stderr: '' } : runner(argv, options);
    const errors = (await ctx.runDeferred()).map((e) => String(e)).join('\n');
    expect(errors).toMatch(new RegExp(`left behind after cleanup: .*dummynet pipe ${pipe}`));
  });
});
