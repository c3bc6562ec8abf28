import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Cubenet, NetPrerequisiteError } from '../../../src/net/cubenet.ts';
import { FreeBsdEndpoints } from '../../../src/net/endpoint/freebsd/freebsd-endpoints.ts';
import { PfFirewall } from '../../../src/net/firewall/pf/pf.ts';
import { NetInputError } from '../../../src/net/validate.ts';
import type { FreeBsdHost } from '../../freebsd-host/host.ts';
import { type ModelHostOptions, createFreeBsdHost } from '../../freebsd-host/index.ts';
import { jailState } from '../../freebsd-host/jail.ts';
import { netState } from '../../freebsd-host/netif.ts';
import { evaluate, pfKernel } from '../../freebsd-host/pf-kernel.ts';

/** cubenet with the FreeBSD backends (pf + tap/epair/VNET jail endpoints) against the host model. */
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function open(
  host: FreeBsdHost,
  stateDir?: string,
  maxSandboxes = 64,
): Promise<{ net: Cubenet; stateDir: string }> {
  const dir = stateDir ?? (await mkdtemp(join(tmpdir(), 'cpt-fbsd-')));
  if (!stateDir) dirs.push(dir);
  const net = await Cubenet.open({
    config: { prefix: 'cpt', ipv4Subnet: '10.77.0.0/24', ipv6Subnet: 'fd77::/64', stateDir: dir },
    runner: host,
    firewall: new PfFirewall(host, 'cpt', { maxSandboxes }),
    endpoints: new FreeBsdEndpoints(host, 'cpt'),
    // cubenet's forwarding switch writes Linux's /proc files; a FreeBSD host sets net.inet.ip.forwarding instead.
    enableForwarding: false,
  });
  return { net, stateDir: dir };
}

async function ready(options: ModelHostOptions = {}) {
  const host = createFreeBsdHost(options);
  const { net, stateDir } = await open(host);
  await net.init();
  return { host, net, stateDir };
}

function kernelObjects(host: FreeBsdHost) {
  const ifaces = [...netState(host).interfaces.values()].filter((i) => i.groups.has('cpt_ep')).map((i) => i.name);
  const anchors = [...pfKernel(host).rulesets.keys()].filter((p) => p.startsWith('cube/'));
  return { ifaces, jails: [...jailState(host).jails.keys()], anchors, states: pfKernel(host).states.length };
}

describe('cubenet on FreeBSD (host model)', () => {
  it('preflight names every missing prerequisite and init refuses', async () => {
    const host = createFreeBsdHost({ pfEnabled: false, pfilMember: false, anchorLimit: 16 });
    const { net } = await open(host, undefined, 100);
    const reasons = await net.preflight();
    expect(reasons.join('\n')).toMatch(/pf is not enabled: run `pfctl -e`/);
    expect(reasons.join('\n')).toMatch(/pf allows 16 anchors but 100 sandboxes need 101: add `set limit anchors 128`/);
    expect(reasons.join('\n')).toMatch(/net.link.bridge.pfil_member is 0/);
    await expect(net.init()).rejects.toBeInstanceOf(NetPrerequisiteError);
    expect(netState(host).interfaces.has('cpt-br')).toBe(false);
    await net.close();
  });

  it('checks out VM-less (epair + VNET jail) and VM (tap) sandboxes, isolated from each other', async () => {
    const { host, net } = await ready();
    const a = await net.checkout({ kind: 'isolated', policy: { allowInternetAccess: true } });
    const b = await net.checkout({ kind: 'isolated' });
    const t = await net.checkout({ kind: 'tap' });
    expect(t.endpoint.hostInterface).toMatch(/^tap\d+$/);
    const jailA = jailState(host).jails.get(a.endpoint.isolation!)!;
    expect(jailA.vnet).toBe(true);
    expect(jailA.routes).toEqual({ inet: '10.77.0.1', inet6: 'fd77::1' });
    const inner = netState(host).interfaces.get(`${a.endpoint.hostInterface}b`)!;
    expect(inner.vnet).toBe(a.endpoint.isolation);
    expect(inner.addresses.map((x) => x.address)).toEqual([a.addresses.ipv4, a.addresses.ipv6]);
    expect(netState(host).interfaces.get('cpt-br')!.members).toEqual([
      a.endpoint.hostInterface,
      b.endpoint.hostInterface,
      t.endpoint.hostInterface,
    ]);

    const pkt = (from: typeof a, dst: string) =>
      evaluate(host, {
        direction: 'in',
        iface: from.endpoint.hostInterface,
        proto: 'tcp',
        src: from.addresses.ipv4,
        sport: 1234,
        dst,
        dport: 80,
      });
    expect(pkt(a, b.addresses.ipv4).action).toBe('block');
    expect(pkt(a, t.addresses.ipv4).action).toBe('block');
    expect(pkt(a, '198.51.100.7').action).toBe('pass');
    expect(pkt(b, '198.51.100.7').action).toBe('block');

    const audit = await net.audit();
    expect(audit.leaks).toEqual({ endpoints: [], chains: [], sets: [], forwards: [], bindings: [], states: [] });
    expect(audit.ok, JSON.stringify(audit)).toBe(true);
    await net.teardown();
    await net.close();
  });

  it('policy changes: withdrawing access kills the open connections; forwards come and go', async () => {
    const { host, net } = await ready();
    const a = await net.checkout({ kind: 'isolated', policy: { allowOut: ['198.51.100.0/24'] } });
    const conn = {
      direction: 'in',
      iface: a.endpoint.hostInterface,
      proto: 'tcp',
      src: a.addresses.ipv4,
      sport: 999,
      dst: '198.51.100.7',
      dport: 443,
    } as const;
    expect(evaluate(host, conn).action).toBe('pass');
    await net.setPolicy(a.id, { allowOut: [] });
    expect(evaluate(host, conn).action).toBe('block');

    await net.addForward(a.id, { protocol: 'tcp', hostPort: 8080, sandboxPort: 80 });
    const ext = {
      direction: 'in',
      iface: 'em0',
      proto: 'tcp',
      src: '198.51.100.7',
      sport: 5555,
      dst: '192.0.2.10',
      dport: 8080,
    } as const;
    expect(evaluate(host, ext, { createState: false }).rdr).toEqual({ dst: a.addresses.ipv4, dport: 80 });
    await net.removeForward(a.id, { protocol: 'tcp', hostPort: 8080, sandboxPort: 80 });
    expect(evaluate(host, ext, { createState: false }).rdr).toBeUndefined();
    await net.teardown();
    await net.close();
  });

  it('hostile input is refused before any command runs', async () => {
    const { host, net } = await ready();
    const a = await net.checkout({ kind: 'isolated' });
    const before = host.calls.length;
    const hostile: Array<() => Promise<unknown>> = [
      () => net.setPolicy(a.id, { allowOut: ['10.0.0.1 }\npass quick all #'] }),
      () => net.setPolicy(a.id, { allowOut: ['10.0.0.1/8'] }),
      () => net.setPolicy(a.id, { dnsAllow: ['$(reboot)'] }),
      () => net.setPolicy(a.id, { allowInternetAccess: 'yes' }),
      () => net.setPolicy(a.id, { allowOut: Array.from({ length: 10_001 }, () => '10.0.0.1') }),
      () => net.setPolicy('0123456789ab"; pfctl -d', {}),
      () => net.addAddresses(a.id, 'allowOut', ['<sandbox_allow>']),
      () => net.replaceAddresses(a.id, 'sandbox_allow', ['10.0.0.1']),
      () => net.addForward(a.id, { protocol: 'tcp', hostPort: 0, sandboxPort: 80 }),
      () => net.addForward(a.id, { protocol: 'icmp', hostPort: 80, sandboxPort: 80 }),
      () => net.checkout({ id: '../../etc' }),
      () => net.checkout({ policy: { allowOut: ['fd77::1\n}'] } }),
    ];
    for (const attempt of hostile) await expect(attempt()).rejects.toBeInstanceOf(NetInputError);
    expect(host.calls.slice(before)).toEqual([]);
    await net.teardown();
    await net.close();
  });

  it('release-all leaves nothing: no anchor, endpoint, jail, table or state (0 of N)', async () => {
    const { host, net } = await ready();
    const n = 12;
    const boxes = [];
    for (let i = 0; i < n; i++)
      boxes.push(
        await net.checkout({
          kind: i % 2 ? 'tap' : 'isolated',
          policy: { allowInternetAccess: true },
          forwards: [{ protocol: 'tcp', hostPort: 9000 + i, sandboxPort: 80 }],
        }),
      );
    for (const b of boxes.filter((x) => x.endpoint.kind === 'isolated')) {
      evaluate(host, {
        direction: 'in',
        iface: b.endpoint.hostInterface,
        proto: 'udp',
        src: b.addresses.ipv4,
        sport: 5000,
        dst: '198.51.100.7',
        dport: 443,
      });
    }
    expect(pfKernel(host).states.length).toBe(n / 2);
    await net.releaseAll();
    await net.settle();
    const audit = await net.audit();
    expect(audit.ok, JSON.stringify(audit)).toBe(true);
    expect(kernelObjects(host).anchors).toEqual([]);
    expect(kernelObjects(host).states).toBe(0);
    await net.teardown();
    expect(kernelObjects(host)).toEqual({ ifaces: [], jails: [], anchors: [], states: 0 });
    expect(netState(host).interfaces.has('cpt-br')).toBe(false);
    await net.close();
  });

  it('a failed checkout midway leaves nothing behind', async () => {
    const { host, net } = await ready();
    // jail(8) refuses the jail: the epair made before it must go too.
    jailState(host).jails.set('blocker', {
      jid: 99,
      name: 'blocker',
      vnet: true,
      persist: true,
      hostname: '',
      path: '/',
      routes: {},
    });
    const original = host.run.bind(host);
    host.run = async (argv, options) =>
      argv[0] === 'jail' && argv[1] === '-c'
        ? { argv, code: 1, stdout: '', stderr: 'jail: out of jids\n' }
        : original(argv, options);
    await expect(net.checkout({ kind: 'isolated' })).rejects.toThrow(/out of jids/);
    host.run = original;
    jailState(host).jails.delete('blocker');
    expect(kernelObjects(host)).toEqual({ ifaces: [], jails: [], anchors: [], states: 0 });
    expect((await net.audit()).ok).toBe(true);
    await net.teardown();
    await net.close();
  });

  it('reconcile after a crash removes leftovers (anchors, endpoints, jails, states) of sandboxes nobody owns', async () => {
    const host = createFreeBsdHost();
    const first = await open(host);
    await first.net.init();
    const a = await first.net.checkout({ kind: 'isolated', policy: { allowInternetAccess: true } });
    await first.net.checkout({ kind: 'tap' });
    evaluate(host, {
      direction: 'in',
      iface: a.endpoint.hostInterface,
      proto: 'tcp',
      src: a.addresses.ipv4,
      sport: 7,
      dst: '198.51.100.7',
      dport: 443,
    });
    // The controller dies; its state files are lost with it (the worst case): everything in the kernel is a leftover.
    await first.net.close();
    await rm(first.stateDir, { recursive: true, force: true });
    const second = await open(host);
    const report = second.net.lastReconcile!;
    expect(report.removedEndpoints.length).toBe(2);
    expect(report.removedChains.length).toBe(2);
    expect(report.killedStatesOf).toEqual([a.addresses.ipv4]);
    expect(kernelObjects(host)).toEqual({ ifaces: [], jails: [], anchors: [], states: 0 });
    expect((await second.net.audit()).ok).toBe(true);
    await second.net.teardown();
    await second.net.close();
  });
});
