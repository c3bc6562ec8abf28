/**
 * cubenet on the real Linux kernel (root): isolation with real TCP traffic between namespaces this test creates,
 * policy changes, state killing, forwards, NAT egress, hostile input, audit. Prefix "cpt", subnet 10.79.0.0/24.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cubenet, Sandbox } from '../../src/net/cubenet.ts';
import { openLinuxCubenet } from '../../src/net/linux.ts';
import { NetInputError } from '../../src/net/validate.ts';
import {
  canRunKernelTests,
  connect,
  createPeer,
  kernelSnapshot,
  serve,
  startIn,
  stopAll,
  TCP_TOOL,
  tempDir,
  type Peer,
} from './helpers.ts';

const skip = await canRunKernelTests();
const PREFIX = 'cpt';
const PORT = 18000;

describe.skipIf(skip)('cubenet on Linux (real traffic)', () => {
  let net: Cubenet;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let a: Sandbox, b: Sandbox, c: Sandbox;
  let peer: Peer;
  const ns = (s: Sandbox) => s.endpoint.isolation!;

  beforeAll(async () => {
    dir = await tempDir();
    net = await openLinuxCubenet({
      config: { prefix: PREFIX, ipv4Subnet: '10.79.0.0/24', ipv6Subnet: 'fd79::/64', stateDir: dir.path },
      spares: { isolated: 2 },
    });
    await net.init();
    [a, b, c] = await Promise.all([net.checkout(), net.checkout(), net.checkout()]);
    peer = await createPeer('cptx');
    await Promise.all([
      serve(ns(a), PORT),
      serve(ns(b), PORT),
      serve(ns(c), PORT),
      serve(undefined, PORT + 1),
      serve(peer.netns, PORT),
    ]);
  });

  afterAll(async () => {
    stopAll();
    await peer?.remove();
    await net?.teardown();
    await net?.close();
    await dir?.remove();
  });

  it('isolates by default: no sandbox reaches another sandbox, the host or the outside, v4 or v6', async () => {
    const results = await Promise.all([
      connect(ns(a), b.addresses.ipv4, PORT),
      connect(ns(a), b.addresses.ipv6, PORT),
      connect(ns(b), a.addresses.ipv4, PORT),
      connect(ns(a), net.ipam.gateway.ipv4, PORT + 1),
      connect(ns(a), net.ipam.gateway.ipv6, PORT + 1),
      connect(ns(a), peer.peer.ipv4, PORT),
      connect(ns(a), peer.peer.ipv6, PORT),
      // the outside cannot reach a sandbox directly (only through a forward)
      connect(peer.netns, a.addresses.ipv4, PORT),
    ]);
    expect(results).toEqual(new Array(results.length).fill(undefined));
  });

  it('allowOut opens exactly the listed destinations, one way; denyOut wins over allowOut', async () => {
    await net.setPolicy(a.id, { allowOut: [b.addresses.ipv4, b.addresses.ipv6] });
    expect(await connect(ns(a), b.addresses.ipv4, PORT)).toBe(a.addresses.ipv4);
    expect(await connect(ns(a), b.addresses.ipv6, PORT)).toBe(a.addresses.ipv6);
    const [back, other] = await Promise.all([
      connect(ns(b), a.addresses.ipv4, PORT),
      connect(ns(a), c.addresses.ipv4, PORT),
    ]);
    expect(back).toBeUndefined();
    expect(other).toBeUndefined();

    await net.setPolicy(a.id, {
      allowOut: ['10.79.0.0/24', 'fd79::/64'],
      denyOut: [c.addresses.ipv4, c.addresses.ipv6],
    });
    const [toB, toC4, toC6, toGw] = await Promise.all([
      connect(ns(a), b.addresses.ipv4, PORT),
      connect(ns(a), c.addresses.ipv4, PORT),
      connect(ns(a), c.addresses.ipv6, PORT),
      connect(ns(a), net.ipam.gateway.ipv4, PORT + 1),
    ]);
    expect(toB).toBe(a.addresses.ipv4);
    expect(toC4).toBeUndefined();
    expect(toC6).toBeUndefined();
    expect(toGw).toBe(a.addresses.ipv4); // the gateway is in the allowed subnet: explicit allow reaches the host
  });

  it('a one-address update takes effect at once; withdrawing access kills exactly the states it no longer allows', async () => {
    await net.setPolicy(a.id, { allowOut: [b.addresses.ipv4] });
    expect(await connect(ns(a), c.addresses.ipv4, PORT)).toBeUndefined();
    await net.addAddresses(a.id, 'allowOut', [c.addresses.ipv4]);
    expect(await connect(ns(a), c.addresses.ipv4, PORT)).toBe(a.addresses.ipv4);
    const fw = (
      net as unknown as {
        opts: {
          firewall: {
            listStates(s: unknown): Promise<Array<{ source: string; destination: string; protocol: string }>>;
          };
        };
      }
    ).opts.firewall;
    const live = async (to: string) =>
      (await fw.listStates(net.subnets)).filter(
        (s) => s.protocol === 'tcp' && s.source === a.addresses.ipv4 && s.destination === to,
      ).length;
    const holdC = await startIn(ns(a), [process.execPath, TCP_TOOL, 'hold', c.addresses.ipv4, String(PORT)], 'open');
    const holdB = await startIn(ns(a), [process.execPath, TCP_TOOL, 'hold', b.addresses.ipv4, String(PORT)], 'open');
    try {
      expect(await live(c.addresses.ipv4)).toBeGreaterThan(0);
      expect(await live(b.addresses.ipv4)).toBeGreaterThan(0);
      await net.replaceAddresses(a.id, 'allowOut', [b.addresses.ipv4]);
      expect(await live(c.addresses.ipv4)).toBe(0);
      expect(await live(b.addresses.ipv4)).toBeGreaterThan(0); // still allowed: untouched
      expect(await connect(ns(a), c.addresses.ipv4, PORT)).toBeUndefined();
      await net.setPolicy(a.id, {});
      expect(await live(b.addresses.ipv4)).toBe(0);
    } finally {
      for (const h of [holdB, holdC]) if (h.pid) process.kill(h.pid, 'SIGKILL');
    }
  });

  it('DNS allowlist opens port 53 only', async () => {
    await net.setPolicy(a.id, { dnsAllow: [b.addresses.ipv4] });
    expect(await connect(ns(a), b.addresses.ipv4, PORT)).toBeUndefined();
    await net.setPolicy(a.id, {});
  });

  it('forwards a host port to a sandbox for an external client, and stops when removed', async () => {
    await net.addForward(b.id, { protocol: 'tcp', hostPort: 28080, sandboxPort: PORT });
    expect(await connect(peer.netns, peer.hostSide.ipv4, 28080)).toBe(peer.peer.ipv4);
    expect(await connect(peer.netns, peer.hostSide.ipv6, 28080)).toBe(peer.peer.ipv6);
    await expect(net.addForward(c.id, { protocol: 'tcp', hostPort: 28080, sandboxPort: PORT })).rejects.toThrow(
      /already forwarded/,
    );
    await net.removeForward(b.id, { protocol: 'tcp', hostPort: 28080, sandboxPort: PORT });
    expect(await connect(peer.netns, peer.hostSide.ipv4, 28080)).toBeUndefined();
  });

  it('internet access reaches public addresses through NAT but still not private ones', async () => {
    await net.setPolicy(a.id, { allowInternetAccess: true });
    expect(await connect(ns(a), peer.peer.ipv4, PORT)).toBe(peer.hostSide.ipv4); // masqueraded
    expect(await connect(ns(a), peer.peer.ipv6, PORT)).toBe(peer.hostSide.ipv6);
    const [toB, toHost] = await Promise.all([
      connect(ns(a), b.addresses.ipv4, PORT),
      connect(ns(a), peer.hostSide.ipv4, PORT + 1),
    ]);
    expect(toB).toBeUndefined();
    expect(toHost).toBeUndefined(); // the host's own addresses are not "internet"
    await net.setPolicy(a.id, {});
    expect(await connect(ns(a), peer.peer.ipv4, PORT)).toBeUndefined();
  });

  it('a sandbox cannot send from an address that is not its own', async () => {
    await net.setPolicy(b.id, { allowOut: [c.addresses.ipv4] });
    expect(await connect(ns(b), c.addresses.ipv4, PORT)).toBe(b.addresses.ipv4);
    // a takes b's address as a second address and tries to use b's policy
    const { runner } = await import('./helpers.ts');
    await runner.run(['ip', '-n', ns(a), 'addr', 'add', `${b.addresses.ipv4}/32`, 'dev', 'eth0']);
    try {
      expect(await connect(ns(a), c.addresses.ipv4, PORT, { source: b.addresses.ipv4 })).toBeUndefined();
    } finally {
      await runner.run(['ip', '-n', ns(a), 'addr', 'del', `${b.addresses.ipv4}/32`, 'dev', 'eth0']);
    }
    await net.setPolicy(b.id, {});
  });

  it('hostile input is rejected with a clear error and changes nothing in the kernel', async () => {
    await net.settle();
    const before = await kernelSnapshot(PREFIX);
    const hostile: Array<[() => Promise<unknown>, RegExp]> = [
      [() => net.setPolicy(a.id, { allowOut: ['10.0.0.1; flush ruleset'] }), /allowOut\[0\]/],
      [() => net.setPolicy(a.id, { allowOut: ['10.0.0.1 }\nadd rule inet cpt forward accept'] }), /allowOut\[0\]/],
      [() => net.setPolicy(a.id, { denyOut: ['$(reboot)'] }), /denyOut\[0\]/],
      [() => net.setPolicy(a.id, { allowOut: new Array(20_000).fill('1.2.3.4') }), /limit of 10000/],
      [() => net.setPolicy(a.id, { allowout: ['0.0.0.0/0'] }), /unknown key/],
      [() => net.setPolicy('abc; rm -rf /', {}), /sandbox id/],
      [() => net.addAddresses(a.id, 'allowOut', ['{ 0.0.0.0/0 }']), /allowOut\[0\]/],
      [() => net.addAddresses(a.id, 'allowOut; flush', ['1.1.1.1']), /address list/],
      [() => net.addForward(a.id, { protocol: 'tcp', hostPort: '80; drop', sandboxPort: 80 }), /hostPort/],
      [() => net.addForward(a.id, { protocol: 'icmp', hostPort: 80, sandboxPort: 80 }), /protocol/],
      [() => net.addForward(a.id, { protocol: 'tcp', hostPort: 70000, sandboxPort: 80 }), /hostPort/],
      [() => net.checkout({ id: '0123456789AB' }), /sandbox id/],
      [() => net.checkout({ kind: 'vm\n' as never }), /kind/],
      [() => net.checkout({ policy: { dnsAllow: ['fe80::1%eth0'] } }), /dnsAllow\[0\]/],
      [() => net.release('../../etc/passwd'), /sandbox id/],
    ];
    for (const [call, message] of hostile) {
      const error = await call().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error, String(message)).toBeInstanceOf(NetInputError);
      expect(error!.message).toMatch(message);
    }
    await net.settle();
    expect(await kernelSnapshot(PREFIX)).toBe(before);
  });

  it('audit agrees with the kernel, and sees a leak planted behind its back', async () => {
    await net.settle();
    const clean = await net.audit();
    expect(clean.leaks).toEqual({ endpoints: [], chains: [], sets: [], forwards: [], bindings: [], states: [] });
    expect(clean.ok).toBe(true);
    const { runner } = await import('./helpers.ts');
    // A leaked sandbox (a member entry and an element nobody believes in) and an element keyed by no member.
    await runner.run([
      'nft',
      'add element inet cpt members4 { 10.79.0.250 comment "sbx-00000000beef" }; add element inet cpt allow4 { 10.79.0.250 . 192.0.2.9 }',
    ]);
    await runner.run(['nft', 'add element inet cpt allow4net_11 { 10.79.0.251 . 192.0.2.0/24 }']);
    try {
      const dirty = await net.audit();
      expect(dirty.ok).toBe(false);
      expect(dirty.leaks.chains).toEqual(['sbx-00000000beef']);
      expect(dirty.leaks.sets.sort()).toEqual([
        'allow4 { 10.79.0.250 . 192.0.2.9 }',
        'allow4net_11 { 10.79.0.251 . 192.0.2.0/24 }',
      ]);
      const report = await net.reconcile();
      expect(report.removedChains).toEqual(['sbx-00000000beef']);
      expect(report.removedStray).toBe(1);
      // (reconcile is meant for a fresh controller: it also takes the idle endpoints, so only the firewall is compared)
      const after = await net.audit();
      expect({ chains: after.leaks.chains, sets: after.leaks.sets, missing: after.missing.chains }).toEqual({
        chains: [],
        sets: [],
        missing: [],
      });
    } finally {
      await runner.run([
        'nft',
        'add element inet cpt members4 { 10.79.0.250 }; delete element inet cpt members4 { 10.79.0.250 }',
      ]);
    }
  });
});
