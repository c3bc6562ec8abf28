import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NetPrerequisiteError, type Cubenet } from '../../src/net/cubenet.ts';
import { SysctlForwarding } from '../../src/net/endpoint/freebsd/forwarding.ts';
import { openCubenet } from '../../src/net/open.ts';
import { NetInputError } from '../../src/net/validate.ts';
import { dummynetState } from '../freebsd-host/dnctl.ts';
import type { FreeBsdHost } from '../freebsd-host/host.ts';
import { type ModelHostOptions, createFreeBsdHost } from '../freebsd-host/index.ts';
import { jailState } from '../freebsd-host/jail.ts';
import { netState } from '../freebsd-host/netif.ts';
import { evaluate, pfKernel } from '../freebsd-host/pf-kernel.ts';

/**
 * The whole cubenet lifecycle on FreeBSD through the same opener the CLI and the rigs use (openCubenet), against the
 * host model: init (prerequisites, forwarding sysctls, bridge, root hook), checkout with a policy, policy replace,
 * forward, rate limit (dummynet pipe + dnpipe), release, audit, reconcile after a crash, teardown restoring sysctls.
 */
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const PIPE_BASE = 10_000;

async function open(host: FreeBsdHost, stateDir?: string): Promise<{ net: Cubenet; stateDir: string }> {
  const dir = stateDir ?? (await mkdtemp(join(tmpdir(), 'cpt-fbsd-life-')));
  if (!stateDir) dirs.push(dir);
  const net = await openCubenet({
    platform: 'freebsd',
    runner: host,
    config: { prefix: 'cpt', ipv4Subnet: '10.77.0.0/24', ipv6Subnet: 'fd77::/64', stateDir: dir, lockDir: dir },
    egressInterface: 'em0',
  });
  return { net, stateDir: dir };
}

function readyHost(options: ModelHostOptions = {}): FreeBsdHost {
  return createFreeBsdHost({ dummynet: true, anchorLimit: 512, ...options });
}

function kernelObjects(host: FreeBsdHost) {
  const ifaces = [...netState(host).interfaces.values()].filter((i) => i.groups.has('cpt_ep')).map((i) => i.name);
  const anchors = [...pfKernel(host).rulesets.keys()].filter((p) => p.startsWith('cube/'));
  return {
    ifaces,
    jails: [...jailState(host).jails.keys()],
    anchors,
    states: pfKernel(host).states.length,
    pipes: [...dummynetState(host).pipes.keys()],
  };
}

const forwarding = (host: FreeBsdHost) => [
  host.sysctls.get('net.inet.ip.forwarding'),
  host.sysctls.get('net.inet6.ip6.forwarding'),
];

describe('cubenet lifecycle on FreeBSD (openCubenet, host model)', () => {
  it('init names every missing prerequisite, dummynet included, and changes nothing', async () => {
    const host = createFreeBsdHost({ pfEnabled: false, pfilMember: false, anchorLimit: 64 });
    const { net } = await open(host);
    const error = await net.init().catch((e: Error) => e);
    expect(error).toBeInstanceOf(NetPrerequisiteError);
    const text = (error as NetPrerequisiteError).reasons.join('\n');
    expect(text).toMatch(/pf is not enabled: run `pfctl -e`/);
    // The configured pool: the whole allocatable range of a /24 (253 sandboxes) + their parent anchor.
    expect(text).toMatch(/pf allows 64 anchors but 253 sandboxes need 254: add `set limit anchors 256`/);
    expect(text).toMatch(/net\.link\.bridge\.pfil_member is 0/);
    expect(text).toMatch(/dummynet\(4\) is not loaded.*kldload dummynet/);
    expect(netState(host).interfaces.has('cpt-br')).toBe(false);
    expect(forwarding(host)).toEqual(['0', '0']);
    expect(host.calls.filter((c) => c[0] === 'sysctl' && c.some((a) => a.includes('=')))).toEqual([]);
    await net.close();
  });

  it('runs init → checkout → policy → forward → rate limit → release → audit → teardown, restoring the sysctls', async () => {
    const host = readyHost();
    const { net, stateDir } = await open(host);
    await net.init();
    expect(forwarding(host)).toEqual(['1', '1']);
    const record = join(stateDir, 'forwarding-sysctl.json'); // the lock folder (this test's temp folder)
    expect(JSON.parse(await readFile(record, 'utf8'))).toEqual({
      before: { 'net.inet.ip.forwarding': '0', 'net.inet6.ip6.forwarding': '0' },
      users: ['cpt'],
    });
    await net.init(); // idempotent: the record still holds the values from before the first init
    expect(JSON.parse(await readFile(record, 'utf8')).before['net.inet.ip.forwarding']).toBe('0');
    const main = pfKernel(host).rulesets.get('')!;
    expect(main.filter.some((r) => r.action === 'anchor' && r.anchor === 'cube/*')).toBe(true);
    expect(main.nat.length).toBe(2);

    const a = await net.checkout({ kind: 'isolated', policy: { allowOut: ['198.51.100.0/24'] } });
    const b = await net.checkout({ kind: 'isolated' });
    const out = (s: typeof a, dst: string, sport = 1000) =>
      ({
        direction: 'in',
        iface: s.endpoint.hostInterface,
        proto: 'tcp',
        src: s.addresses.ipv4,
        sport,
        dst,
        dport: 443,
      }) as const;
    expect(evaluate(host, out(a, '198.51.100.7')).action).toBe('pass');
    expect(evaluate(host, out(a, b.addresses.ipv4), { createState: false }).action).toBe('block');
    expect(evaluate(host, out(b, '198.51.100.7'), { createState: false }).action).toBe('block');

    // Policy replace withdraws 198.51.100.0/24: the open connection's state goes with it.
    await net.setPolicy(a.id, { allowOut: ['203.0.113.0/24'] });
    expect(pfKernel(host).states).toEqual([]);
    expect(evaluate(host, out(a, '198.51.100.7', 1001), { createState: false }).action).toBe('block');

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

    // Rate limit: a dummynet pipe at the rate, and the sandbox's egress passes send its packets through it.
    const limited = await net.setRateLimit(a.id, { egressMbit: 100 });
    expect(limited.rateLimit).toEqual({ egressMbit: 100 });
    const host2 = Number(a.addresses.ipv4.split('.')[3]);
    const pipe = PIPE_BASE + host2;
    expect(dummynetState(host).pipes.get(pipe)).toMatchObject({ bandwidth: 100_000_000 });
    const anchorText = (await host.run(['pfctl', '-a', `cube/sandbox-${a.id}`, '-sr'])).stdout;
    expect(anchorText).toMatch(
      new RegExp(`pass in quick on ${a.endpoint.hostInterface} .*<sandbox_allow>.* dnpipe ${pipe}`),
    );
    const sent = evaluate(host, out(a, '203.0.113.9', 2000));
    expect(sent).toMatchObject({ action: 'pass', dnpipe: pipe });
    // The reply direction is not shaped (a single pipe number shapes the rule's direction only).
    const reply = evaluate(host, {
      direction: 'out',
      iface: a.endpoint.hostInterface,
      proto: 'tcp',
      src: '203.0.113.9',
      sport: 443,
      dst: a.addresses.ipv4,
      dport: 2000,
    });
    expect(reply.action).toBe('pass');
    expect(reply.dnpipe).toBeUndefined();
    // A policy change keeps the limit (the anchor is re-rendered with it).
    await net.setPolicy(a.id, { allowOut: ['203.0.113.0/24'], allowInternetAccess: true });
    expect((await host.run(['pfctl', '-a', `cube/sandbox-${a.id}`, '-sr'])).stdout).toMatch(
      new RegExp(`inet from ${a.addresses.ipv4} to any .*dnpipe ${pipe}`),
    );
    await net.setRateLimit(a.id, { egressMbit: 250 });
    expect(dummynetState(host).pipes.get(pipe)!.bandwidth).toBe(250_000_000);
    expect((await net.audit()).ok).toBe(true);

    await net.release(a.id);
    await net.release(b.id);
    await net.settle();
    const audit = await net.audit();
    expect(audit.ok, JSON.stringify(audit)).toBe(true);
    expect(audit.leaks).toEqual({
      endpoints: [],
      chains: [],
      sets: [],
      forwards: [],
      bindings: [],
      states: [],
      rateLimits: [],
    });
    expect(kernelObjects(host).pipes).toEqual([]);
    expect(kernelObjects(host).anchors).toEqual([]);

    await net.teardown();
    expect(forwarding(host)).toEqual(['0', '0']);
    expect(kernelObjects(host)).toEqual({ ifaces: [], jails: [], anchors: [], states: 0, pipes: [] });
    expect(netState(host).interfaces.has('cpt-br')).toBe(false);
    await net.close();
  });

  it('leaves forwarding alone when it was on already, and an operator change since init survives teardown', async () => {
    const host = readyHost({ forwarding: true });
    const { net } = await open(host);
    await net.init();
    expect(host.calls.filter((c) => c[0] === 'sysctl' && c.some((x) => x.includes('=')))).toEqual([]);
    await net.teardown();
    expect(forwarding(host)).toEqual(['1', '1']);
    await net.close();

    const other = readyHost();
    const second = await open(other);
    await second.net.init();
    other.sysctls.set('net.inet6.ip6.forwarding', '0'); // the operator turned IPv6 forwarding off meanwhile
    await second.net.teardown();
    expect(forwarding(other)).toEqual(['0', '0']);
    await second.net.close();
  });

  it('two prefixes share the host-wide forwarding setting: the last one to tear down puts it back', async () => {
    const host = readyHost();
    const dir = await mkdtemp(join(tmpdir(), 'cpt-fbsd-two-'));
    dirs.push(dir);
    const a = new SysctlForwarding(host, dir, 'cpt');
    const b = new SysctlForwarding(host, dir, 'cps');
    await a.enable();
    await b.enable();
    expect(JSON.parse(await readFile(a.recordFile, 'utf8'))).toEqual({
      before: { 'net.inet.ip.forwarding': '0', 'net.inet6.ip6.forwarding': '0' },
      users: ['cpt', 'cps'],
    });
    await a.restore();
    expect(forwarding(host)).toEqual(['1', '1']);
    await b.restore();
    expect(forwarding(host)).toEqual(['0', '0']);
    await expect(readFile(a.recordFile)).rejects.toThrow(/ENOENT/);
  });

  it('refuses bad rate limits before any command runs', async () => {
    const host = readyHost();
    const { net } = await open(host);
    await net.init();
    const a = await net.checkout({ kind: 'isolated' });
    const before = host.calls.length;
    for (const bad of [
      { egressMbit: 0 },
      { egressMbit: -5 },
      { egressMbit: 2001 },
      { egressMbit: 1.5 },
      { egressMbit: '100' },
      { egressMbit: 100, burst: 1 },
      null,
      '100Mbit/s',
      { egressMbit: Number.NaN },
    ]) {
      await expect(net.setRateLimit(a.id, bad)).rejects.toBeInstanceOf(NetInputError);
    }
    await expect(net.setRateLimit('0123456789ab"; dnctl -f flush', { egressMbit: 10 })).rejects.toBeInstanceOf(
      NetInputError,
    );
    expect(host.calls.slice(before)).toEqual([]);
    expect(net.get(a.id).rateLimit).toBeUndefined();
    await net.teardown();
    await net.close();
  });

  it('a sandbox checked out with a rate limit is limited from its first packet; a failed checkout leaves no pipe', async () => {
    const host = readyHost();
    const { net } = await open(host);
    await net.init();
    const a = await net.checkout({
      kind: 'isolated',
      policy: { allowInternetAccess: true },
      rateLimit: { egressMbit: 5 },
    });
    const pipe = PIPE_BASE + Number(a.addresses.ipv4.split('.')[3]);
    expect(a.rateLimit).toEqual({ egressMbit: 5 });
    expect(dummynetState(host).pipes.get(pipe)!.bandwidth).toBe(5_000_000);
    expect(
      evaluate(host, {
        direction: 'in',
        iface: a.endpoint.hostInterface,
        proto: 'udp',
        src: a.addresses.ipv4,
        sport: 53000,
        dst: '198.51.100.7',
        dport: 443,
      }).dnpipe,
    ).toBe(pipe);
    await expect(net.checkout({ rateLimit: { egressMbit: 0 } })).rejects.toBeInstanceOf(NetInputError);

    const original = host.run.bind(host);
    host.run = async (argv, options) =>
      argv[0] === 'pfctl' && argv.includes('-f') && argv[2]?.startsWith('cube/')
        ? { argv, code: 1, stdout: '', stderr: 'pfctl: DIOCADDRULENV: Device busy\n' }
        : original(argv, options);
    await expect(net.checkout({ kind: 'isolated', rateLimit: { egressMbit: 7 } })).rejects.toThrow(/Device busy/);
    host.run = original;
    expect([...dummynetState(host).pipes.keys()]).toEqual([pipe]);
    await net.settle();
    expect((await net.audit()).ok).toBe(true);
    await net.teardown();
    await net.close();
  });

  it('audit reports a stray pipe and a missing one; reconcile after a crash removes and restores', async () => {
    const host = readyHost();
    const first = await open(host);
    await first.net.init();
    const a = await first.net.checkout({ kind: 'isolated', policy: { allowInternetAccess: true } });
    const b = await first.net.checkout({ kind: 'tap' });
    await first.net.setRateLimit(a.id, { egressMbit: 20 });
    await first.net.setRateLimit(b.id, { egressMbit: 30 });
    await host.run(['dnctl', 'pipe', String(PIPE_BASE + 200), 'config', 'bw', '5Mbit/s']);
    const pipeB = PIPE_BASE + Number(b.addresses.ipv4.split('.')[3]);
    await host.run(['dnctl', 'pipe', 'delete', String(pipeB)]);
    const audit = await first.net.audit();
    expect(audit.ok).toBe(false);
    expect(audit.leaks.rateLimits).toEqual([`dummynet pipe ${PIPE_BASE + 200}`]);
    expect(audit.missing.rateLimits).toEqual([`${b.id} (30 Mbit/s)`]);
    evaluate(host, {
      direction: 'in',
      iface: a.endpoint.hostInterface,
      proto: 'tcp',
      src: a.addresses.ipv4,
      sport: 7,
      dst: '198.51.100.7',
      dport: 443,
    });

    // The controller dies; on restart reconcile removes the stray pipe and puts b's back.
    await first.net.close();
    const second = await open(host, first.stateDir);
    expect(second.net.lastReconcile!.removedRateLimits).toEqual([`dummynet pipe ${PIPE_BASE + 200}`]);
    expect(second.net.lastReconcile!.reappliedRateLimits).toEqual([b.id]);
    expect(dummynetState(host).pipes.get(pipeB)!.bandwidth).toBe(30_000_000);
    expect((await second.net.audit()).ok).toBe(true);
    await second.net.close();

    // Worse: the state files are lost too. Everything the kernel holds is a leftover.
    await rm(first.stateDir, { recursive: true, force: true });
    const third = await open(host);
    expect(third.net.lastReconcile!.removedChains.length).toBe(2);
    expect(third.net.lastReconcile!.removedRateLimits!.sort()).toEqual(
      [`dummynet pipe ${pipeB}`, `dummynet pipe ${PIPE_BASE + Number(a.addresses.ipv4.split('.')[3])}`].sort(),
    );
    expect(kernelObjects(host)).toEqual({ ifaces: [], jails: [], anchors: [], states: 0, pipes: [] });
    expect((await third.net.audit()).ok).toBe(true);
    await third.net.teardown();
    await third.net.close();
  });
});
