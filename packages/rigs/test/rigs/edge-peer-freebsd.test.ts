import { describe, expect, it } from 'vitest';
import { createFreeBsdHost, type FreeBsdHost } from '../../../runtime/test/freebsd-host/index.ts';
import { jailState } from '../../../runtime/test/freebsd-host/jail.ts';
import { netState } from '../../../runtime/test/freebsd-host/netif.ts';
import { anchorPaths, evaluate, pfKernel } from '../../../runtime/test/freebsd-host/pf-kernel.ts';
import { EDGE_NETS, openEdgeCubenet } from '../../src/lib/net/edge-cubenet.ts';
import { parseRouteGetFreeBsd } from '../../src/lib/net/external-peer-freebsd.ts';
import { createExternalPeer } from '../../src/lib/net/external-peer.ts';
import { peerNames } from '../../src/lib/net/peer-link.ts';
import { egressManifest } from '../../src/rigs/egress/manifest.ts';
import { EGRESS_PEER, preflight as egressPreflight } from '../../src/rigs/egress/rig.ts';
import { allowDirectPf, directPassRule, parseStateCreations } from '../../src/rigs/ext-to-sandbox/direct-route-pf.ts';
import { extToSandboxManifest } from '../../src/rigs/ext-to-sandbox/manifest.ts';
import { EXT_PEER, preflight as extPreflight } from '../../src/rigs/ext-to-sandbox/rig.ts';
import {
  freebsdContext,
  modelObjects,
  NOTHING,
  useTemporaryLockDir,
  withNetworkRoutes,
} from './freebsd-rig-helpers.ts';

useTemporaryLockDir();

const model = () => withNetworkRoutes(createFreeBsdHost());
const out = async (host: FreeBsdHost, argv: string[]) => (await host.run(argv)).stdout;
const ifaceNames = (host: FreeBsdHost) => [...netState(host).interfaces.values()].map((i) => i.name);
const jails = (host: FreeBsdHost) => [...jailState(host).jails.keys()];
/** What the edge rigs make beside cubenet: their own (`cgx…-`) interfaces and jails, epairs, the rig's anchors, NAT. */
function rigObjects(host: FreeBsdHost) {
  return {
    ifaces: ifaceNames(host).filter((n) => /^(cgx|epair)/.test(n)),
    jails: jails(host).filter((n) => n.startsWith('cgx')),
    anchors: anchorPaths(pfKernel(host)),
    nat: pfKernel(host).rulesets.get('')!.nat.length,
  };
}
const CLEAN = { ifaces: [], jails: [], anchors: [], nat: 0 };

describe('the external peer on FreeBSD (host model)', () => {
  it('is a VNET jail on an epair of its own, ends renamed, addressed and routed as on Linux, and its cleanups remove all of it', async () => {
    const host = model();
    const ctx = freebsdContext(host, extToSandboxManifest);
    const peer = await createExternalPeer(ctx, EXT_PEER);
    expect(peer).toEqual({
      namespace: 'cgxf-peer',
      hostInterface: 'cgxf-h',
      exec: ['jexec', 'cgxf-peer'],
      ipv4: { host: '10.95.1.1', peer: '10.95.1.2' },
      ipv6: { host: 'fd95:1::1', peer: 'fd95:1::2' },
    });
    expect(jails(host)).toEqual(['cgxf-peer']);
    const hostEnd = await out(host, ['ifconfig', 'cgxf-h']);
    expect(hostEnd).toMatch(/UP/);
    expect(hostEnd).toContain('inet 10.95.1.1 netmask 0xfffffffc');
    expect(hostEnd).toContain('inet6 fd95:1::1 prefixlen 64');
    expect((await host.run(['ifconfig', 'cgxf-p'])).code).not.toBe(0); // in the jail, not the host
    const jailEnd = await out(host, ['jexec', 'cgxf-peer', 'ifconfig', 'cgxf-p']);
    expect(jailEnd).toContain('inet 10.95.1.2 netmask 0xfffffffc');
    expect(jailEnd).toContain('inet6 fd95:1::2 prefixlen 64');
    // The host reaches the peer over its link only; the peer reaches the sandbox subnet via the host, nothing else.
    expect(parseRouteGetFreeBsd(await out(host, ['route', '-n', 'get', '10.95.1.2']))).toBe('cgxf-h');
    expect(parseRouteGetFreeBsd(await out(host, ['route', '-n', 'get', 'fd95:1::2']))).toBe('cgxf-h');
    expect(parseRouteGetFreeBsd(await out(host, ['jexec', 'cgxf-peer', 'route', '-n', 'get', '10.91.0.7']))).toBe(
      'cgxf-p',
    );
    expect((await host.run(['jexec', 'cgxf-peer', 'route', '-n', 'get', '192.0.2.1'])).code).toBe(1);
    const calls = host.calls.map((c) => c.join(' '));
    expect(calls).toContain('ifconfig epair0a name cgxf-h');
    expect(calls).toContain('ifconfig epair0b name cgxf-p');
    expect(calls).toContain('jail -c name=cgxf-peer path=/ vnet vnet.interface=cgxf-p persist');
    expect(calls).toContain('jexec cgxf-peer route add -inet -net 10.91.0.0/24 10.95.1.1');

    expect(await ctx.runDeferred()).toEqual([]);
    expect(rigObjects(host)).toEqual(CLEAN);
  });

  it('a failure midway (the jail name is taken) removes the epair it made and leaves the other jail alone', async () => {
    const host = model();
    await host.run(['jail', '-c', 'name=cgxe-peer', 'persist']);
    const ctx = freebsdContext(host, egressManifest);
    await expect(createExternalPeer(ctx, EGRESS_PEER)).rejects.toThrow(/jail cgxe-peer already exists/);
    expect(ifaceNames(host)).toContain('cgxe-h'); // made and renamed before the failure
    expect(await ctx.runDeferred()).toEqual([]);
    expect(jails(host)).toEqual(['cgxe-peer']);
    expect(ifaceNames(host).filter((n) => /^(cgx|epair)/.test(n))).toEqual([]);
  });

  it('an interface already named like the host end is not touched: the new epair goes, the other stays', async () => {
    const host = model();
    const foreign = (await out(host, ['ifconfig', 'epair', 'create'])).trim();
    await host.run(['ifconfig', foreign, 'name', 'cgxe-h']);
    const ctx = freebsdContext(host, egressManifest);
    await expect(createExternalPeer(ctx, EGRESS_PEER)).rejects.toThrow(/File exists/);
    expect(await ctx.runDeferred()).toEqual([]);
    expect(
      ifaceNames(host)
        .filter((n) => /^(cgx|epair)/.test(n))
        .sort(),
    ).toEqual(['cgxe-h', 'epair0b']);
    expect(jails(host)).toEqual([]);
  });

  it('reads the interface out of route(8) get output', () => {
    const text =
      '   route to: 10.95.2.2\ndestination: 10.95.2.0\n       mask: 255.255.255.252\n        fib: 0\n  interface: cgxe-h\n      flags: <UP,DONE,PINNED>\n';
    expect(parseRouteGetFreeBsd(text)).toBe('cgxe-h');
    expect(parseRouteGetFreeBsd('route: route has not been found\n')).toBeUndefined();
  });
});

describe('egress on FreeBSD (host model: setup and cleanup; the model runs no traffic)', () => {
  it('declares FreeBSD with its tools and says the FreeBSD path ran only against the model; preflight checks pf and VNET', async () => {
    expect(egressManifest.platforms).toEqual(['linux', 'freebsd']);
    expect(egressManifest.requirements.binaries.freebsd).toEqual(
      expect.arrayContaining(['pfctl', 'jail', 'jexec', 'jls', 'route', 'cc']),
    );
    expect(egressManifest.requirements.notes.join(' ')).toMatch(/only against the runtime's FreeBSD host model/);
    expect(egressManifest.clock).toMatch(/nat on cgxe-h/);
    const pre = (host: FreeBsdHost) =>
      egressPreflight({ platform: 'freebsd', quick: true, runner: host, manifest: egressManifest });
    expect(await pre(model())).toEqual([]);
    const noVnet = model();
    noVnet.sysctls.set('kern.features.vimage', '0');
    expect((await pre(noVnet)).join('\n')).toMatch(/VIMAGE/);
  });

  it("opens cubenet with NAT on the peer link, lets the sandbox reach only the peer, and leaves nothing of the rig's", async () => {
    const host = model();
    const ctx = freebsdContext(host, egressManifest);
    const NET = EDGE_NETS.egress;
    const net = await openEdgeCubenet(ctx, NET, { egressInterface: peerNames(NET.own).hostInterface });
    const peer = await createExternalPeer(ctx, EGRESS_PEER);
    const sandbox = await net.checkout({ policy: { allowOut: [peer.ipv4.peer, peer.ipv6.peer] } });
    expect((await out(host, ['pfctl', '-sn'])).trim().split('\n')).toEqual([
      'nat on cgxe-h inet from 10.92.0.0/24 to any -> (cgxe-h) round-robin',
      'nat on cgxe-h inet6 from fd92::/64 to any -> (cgxe-h) round-robin',
    ]);
    // The peer has no way back to the sandbox subnet but the NAT.
    expect((await host.run(['jexec', 'cgxe-peer', 'route', '-n', 'get', sandbox.addresses.ipv4])).code).toBe(1);
    const iface = sandbox.endpoint.hostInterface;
    const syn = (dst: string) =>
      evaluate(
        host,
        { direction: 'in', iface, proto: 'tcp', src: sandbox.addresses.ipv4, sport: 40000, dst, dport: 12001 },
        { createState: false },
      );
    expect(syn('10.95.2.2').action).toBe('pass');
    expect(syn('10.95.2.1').action).toBe('block'); // the host's own address on the link is not in the policy
    expect(syn('192.0.2.1').action).toBe('block');

    expect(await ctx.runDeferred()).toEqual([]);
    expect(modelObjects(host, NET.prefix)).toEqual(NOTHING);
    expect(rigObjects(host)).toEqual(CLEAN);
  });

  it("the last check fails the run when something of the rig's is still there after every cleanup", async () => {
    const host = model();
    const ctx = freebsdContext(host, egressManifest);
    const NET = EDGE_NETS.egress;
    await openEdgeCubenet(ctx, NET, { egressInterface: 'cgxe-h' });
    await createExternalPeer(ctx, EGRESS_PEER);
    // A kernel that "removes" jails without doing it: the peer jail and the epair end in it survive.
    const runner = host.run.bind(host);
    host.run = async (argv, options) =>
      argv[0] === 'jail' && argv[1] === '-r' ? { argv, code: 0, stdout: '', stderr: '' } : runner(argv, options);
    const errors = (await ctx.runDeferred()).map((e) => String(e));
    expect(errors.join('\n')).toMatch(/left behind after cleanup: .*jail cgxe-peer/);
  });
});

describe('ext-to-sandbox on FreeBSD (host model: setup, pf paths and cleanup; the model runs no traffic)', () => {
  it('declares FreeBSD with its tools and says the FreeBSD path ran only against the model', async () => {
    expect(extToSandboxManifest.platforms).toEqual(['linux', 'freebsd']);
    expect(extToSandboxManifest.requirements.binaries.freebsd).toEqual(
      expect.arrayContaining(['pfctl', 'jail', 'jexec', 'route', 'sockperf', 'cpuset', 'sockstat']),
    );
    expect(extToSandboxManifest.requirements.notes.join(' ')).toMatch(/only against the runtime's FreeBSD host model/);
    expect(extToSandboxManifest.clock).toMatch(/rdr-to/);
    expect(
      await extPreflight({ platform: 'freebsd', quick: true, runner: model(), manifest: extToSandboxManifest }),
    ).toEqual([]);
  });

  it('the forward (rdr-to) and the direct path (the rig anchor) reach the sandbox; nothing else does; all of it goes at cleanup', async () => {
    const host = model();
    const ctx = freebsdContext(host, extToSandboxManifest);
    const NET = EDGE_NETS['ext-to-sandbox'];
    const net = await openEdgeCubenet(ctx, NET);
    const peer = await createExternalPeer(ctx, EXT_PEER);
    const sandbox = await net.checkout({ forwards: [{ protocol: 'tcp', hostPort: 18080, sandboxPort: 11111 }] });
    const v4 = sandbox.addresses.ipv4;
    const rule = await allowDirectPf(ctx, {
      own: NET.own,
      prefix: NET.prefix,
      peerInterface: peer.hostInterface,
      peerIpv4: peer.ipv4.peer,
      sandboxIpv4: v4,
      port: 11111,
    });
    expect(rule).toBe(
      `pass in quick on cgxf-h inet proto tcp from 10.95.1.2 to ${v4} port 11111 keep state tag cgf_pass label "cgxf-direct"`,
    );
    expect(anchorPaths(pfKernel(host))).toContain('cube/cgxf-direct');

    const iface = sandbox.endpoint.hostInterface;
    let sport = 50000;
    // A SYN from the peer in on its link, then out on the sandbox's interface carrying what the first hop tagged.
    const twoHops = (dst: string, dport: number) => {
      const first = evaluate(host, {
        direction: 'in',
        iface: 'cgxf-h',
        proto: 'tcp',
        src: '10.95.1.2',
        sport: sport++,
        dst,
        dport,
      });
      if (first.action === 'block') return { first, second: undefined };
      const to = first.rdr ?? { dst, dport };
      const second = evaluate(host, {
        direction: 'out',
        iface,
        proto: 'tcp',
        src: '10.95.1.2',
        sport: sport - 1,
        dst: to.dst,
        dport: to.dport ?? dport,
        ...(first.tag ? { tag: first.tag } : {}),
      });
      return { first, second };
    };
    const forward = twoHops('10.95.1.1', 18080);
    expect(forward.first.rdr).toEqual({ dst: v4, dport: 11111 });
    expect(forward.second?.action).toBe('pass');
    const direct = twoHops(v4, 11111);
    expect(direct.first.anchor).toBe('cube/cgxf-direct');
    expect(direct.second?.action).toBe('pass');
    expect(twoHops(v4, 22).second?.action).toBe('block'); // another port: cubenet's isolation holds
    // cubenet does not take the rig's anchor for a sandbox's: its inventory lists the one sandbox only.
    const audit = await net.audit();
    expect(audit.kernel.chains).toBe(1);
    expect(audit.ok).toBe(true);

    expect(await ctx.runDeferred()).toEqual([]);
    expect(modelObjects(host, NET.prefix)).toEqual(NOTHING);
    expect(rigObjects(host)).toEqual(CLEAN);
  });

  it('builds its rule only from names, addresses and a port, and reads the state creations of its one rule', () => {
    const d = {
      own: 'cgxf',
      prefix: 'cgf',
      peerInterface: 'cgxf-h',
      peerIpv4: '10.95.1.2',
      sandboxIpv4: '10.91.0.2',
      port: 11111,
    };
    expect(() => directPassRule({ ...d, peerInterface: 'cgxf-h all' })).toThrow(/interface/);
    expect(() => directPassRule({ ...d, sandboxIpv4: '10.91.0.2 port 1' })).toThrow(/IPv4/);
    expect(() => directPassRule({ ...d, port: 0 })).toThrow(/port/);
    const listing =
      'pass in quick on cgxf-h inet proto tcp from 10.95.1.2 to 10.91.0.2 port = 11111 flags S/SA keep state tag cgf_pass label "cgxf-direct"\n' +
      '  [ Evaluations: 9         Packets: 41        Bytes: 2870        States: 0     ]\n' +
      '  [ Inserted: uid 0 pid 4242 State Creations: 2     ]\n';
    expect(parseStateCreations(listing)).toBe(2);
    expect(() => parseStateCreations('')).toThrow(/found 0/);
    expect(() => parseStateCreations(listing + listing)).toThrow(/found 2/);
  });
});
