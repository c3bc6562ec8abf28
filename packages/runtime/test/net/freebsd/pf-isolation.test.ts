import { describe, expect, it } from 'vitest';
import type { SandboxRules } from '../../../src/net/firewall/firewall.ts';
import { PfFirewall, PfRootHookError } from '../../../src/net/firewall/pf/pf.ts';
import { renderSandboxAnchor } from '../../../src/net/firewall/pf/render.ts';
import { DEFAULT_POLICY, type SandboxId, type SandboxPolicy } from '../../../src/net/types.ts';
import { parsePolicy } from '../../../src/net/validate.ts';
import { createFreeBsdHost } from '../../freebsd-host/index.ts';
import { addInterface, netState } from '../../freebsd-host/netif.ts';
import { type Packet, evaluate, pfKernel } from '../../freebsd-host/pf-kernel.ts';

/**
 * Isolation through the pf backend, decided by the model's packet evaluator (pf's first-match-with-quick over the
 * main ruleset and the cube/* anchors). Sandbox A is 10.77.0.5 on tap0, B is 10.77.0.6 on tap1; the host is
 * 10.77.0.1 on the bridge and 192.0.2.10 on em0; 198.51.100.7 stands for a public address.
 */
const A = { id: 'aaaaaaaaaaaa' as SandboxId, addresses: { ipv4: '10.77.0.5', ipv6: 'fd77::5' }, hostInterface: 'tap0' };
const B = { id: 'bbbbbbbbbbbb' as SandboxId, addresses: { ipv4: '10.77.0.6', ipv6: 'fd77::6' }, hostInterface: 'tap1' };
const PUBLIC = '198.51.100.7';

async function setup(policyA: Partial<SandboxPolicy> = {}, extraA: Partial<SandboxRules> = {}) {
  const host = createFreeBsdHost();
  const net = netState(host);
  for (const t of ['tap0', 'tap1']) addInterface(net, t, 'tap', null).groups.add('cpt_ep');
  addInterface(net, 'cpt-br', 'bridge', null, [
    { family: 'inet', address: '10.77.0.1', prefix: 24 },
    { family: 'inet6', address: 'fd77::1', prefix: 64 },
  ]);
  const fw = new PfFirewall(host, 'cpt', { maxSandboxes: 10 });
  await fw.init({
    bridge: 'cpt-br',
    ipv4Subnet: '10.77.0.0/24',
    ipv6Subnet: 'fd77::/64',
    gateway: { ipv4: '10.77.0.1', ipv6: 'fd77::1' },
  });
  const rulesA: SandboxRules = {
    ...A,
    policy: parsePolicy({ ...DEFAULT_POLICY, ...policyA }),
    forwards: [],
    ...extraA,
  };
  await fw.applySandbox(rulesA);
  await fw.applySandbox({ ...B, policy: { ...DEFAULT_POLICY }, forwards: [] });
  return { host, fw, rulesA };
}

const fromA = (dst: string, extra: Partial<Packet> = {}): Packet => ({
  direction: 'in',
  iface: 'tap0',
  proto: 'tcp',
  src: A.addresses.ipv4,
  sport: 40000,
  dst,
  dport: 443,
  ...extra,
});

describe('pf isolation (FreeBSD backend against the host model)', () => {
  it('loads into the model: the root hook and one anchor per sandbox', async () => {
    const { host } = await setup();
    expect((await host.run(['pfctl', '-sr'])).stdout).toBe(
      'anchor "cube/*" all\nblock drop in quick on cpt_ep all\nblock drop out quick on cpt_ep all\n',
    );
    expect((await host.run(['pfctl', '-a', 'cube', '-sA'])).stdout).toBe(
      '  cube/sandbox-aaaaaaaaaaaa\n  cube/sandbox-bbbbbbbbbbbb\n',
    );
  });

  it('by default a sandbox reaches nothing: not another sandbox, not the host, not the internet', async () => {
    const { host } = await setup();
    expect(evaluate(host, fromA(B.addresses.ipv4)).action).toBe('block');
    expect(evaluate(host, fromA('10.77.0.1')).action).toBe('block');
    expect(evaluate(host, fromA('192.0.2.10')).action).toBe('block');
    expect(evaluate(host, fromA(PUBLIC)).action).toBe('block');
    expect(evaluate(host, fromA('fd77::6', { src: 'fd77::5' })).action).toBe('block');
  });

  it('internet access opens public destinations only: private ranges, other sandboxes and the host stay closed', async () => {
    const { host } = await setup({ allowInternetAccess: true });
    expect(evaluate(host, fromA(PUBLIC)).action).toBe('pass');
    expect(evaluate(host, fromA('2001:db8:1::1', { src: 'fd77::5' })).action).toBe('pass');
    for (const dst of [
      B.addresses.ipv4,
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '100.64.0.1',
      '169.254.1.1',
      '192.0.2.10',
      '10.77.0.1',
    ]) {
      expect(evaluate(host, fromA(dst)).action, dst).toBe('block');
    }
    expect(evaluate(host, fromA('fd77::6', { src: 'fd77::5' })).action).toBe('block');
  });

  it('allowOut opens a private address, denyOut wins over allowOut and over internet access', async () => {
    const { host } = await setup({
      allowInternetAccess: true,
      allowOut: ['10.77.0.6', '203.0.113.0/24'],
      denyOut: ['203.0.113.9', PUBLIC],
    });
    expect(evaluate(host, fromA(B.addresses.ipv4)).action).toBe('pass');
    expect(evaluate(host, fromA('203.0.113.1')).action).toBe('pass');
    expect(evaluate(host, fromA('203.0.113.9')).action).toBe('block');
    expect(evaluate(host, fromA(PUBLIC)).action).toBe('block');
  });

  it('the initiator decides: A allowing B can connect to B (B receives through the state), B still cannot open to A', async () => {
    const { host } = await setup({ allowOut: [B.addresses.ipv4] });
    const aToB = fromA(B.addresses.ipv4, { dport: 80 });
    const first = evaluate(host, aToB);
    expect(first.action).toBe('pass');
    // Bridged to B's tap: pf evaluates the packet again, outbound; the tag from A's pass rule lets it through.
    expect(evaluate(host, { ...aToB, sport: 40001, direction: 'out', iface: 'tap1' }).action).toBe('block');
    expect(evaluate(host, { ...aToB, direction: 'out', iface: 'tap1', tag: first.tag }).action).toBe('pass');
    expect(
      evaluate(host, {
        direction: 'in',
        iface: 'tap1',
        proto: 'tcp',
        src: B.addresses.ipv4,
        sport: 80,
        dst: A.addresses.ipv4,
        dport: 40000,
      }).viaState,
    ).toBeDefined();
    expect(
      evaluate(host, {
        direction: 'out',
        iface: 'tap0',
        proto: 'tcp',
        src: B.addresses.ipv4,
        sport: 80,
        dst: A.addresses.ipv4,
        dport: 40000,
      }).viaState,
    ).toBeDefined();
    const bToA: Packet = {
      direction: 'in',
      iface: 'tap1',
      proto: 'tcp',
      src: B.addresses.ipv4,
      sport: 41000,
      dst: A.addresses.ipv4,
      dport: 22,
    };
    expect(evaluate(host, bToA).action).toBe('block');
  });

  it('the DNS allowlist opens port 53 (tcp and udp) and nothing else', async () => {
    const { host } = await setup({ dnsAllow: ['10.77.0.1'] });
    expect(evaluate(host, fromA('10.77.0.1', { proto: 'udp', dport: 53 })).action).toBe('pass');
    expect(evaluate(host, fromA('10.77.0.1', { proto: 'tcp', dport: 53 })).action).toBe('pass');
    expect(evaluate(host, fromA('10.77.0.1', { proto: 'tcp', dport: 22 })).action).toBe('block');
  });

  it('IPv6 neighbour discovery passes both ways, other ICMPv6 follows the policy', async () => {
    const { host } = await setup();
    const nd = (type: number, src: string, dst: string, direction: 'in' | 'out' = 'in'): Packet => ({
      direction,
      iface: 'tap0',
      proto: 'icmp6',
      icmp6Type: type,
      src,
      dst,
    });
    expect(evaluate(host, nd(135, '::', 'ff02::1:ff00:5')).action).toBe('pass'); // DAD
    expect(evaluate(host, nd(136, 'fd77::5', 'fd77::1')).action).toBe('pass'); // NA answering the host's NS
    expect(evaluate(host, nd(133, 'fe80::5', 'ff02::2')).action).toBe('pass'); // RS
    expect(evaluate(host, nd(135, 'fd77::1', 'ff02::1:ff00:5', 'out')).action).toBe('pass'); // the host's NS
    expect(evaluate(host, nd(128, 'fd77::5', 'fd77::1')).action).toBe('block'); // echo to the host: policy says no
    expect(evaluate(host, nd(128, 'fd77::5', 'fd77::6')).action).toBe('block');
    expect(evaluate(host, nd(136, 'fd77::6', 'fd77::1')).action).toBe('block'); // ND with another sandbox's source
  });

  it('a sandbox cannot send with another source address (anti-spoofing), nor can traffic reach it unasked', async () => {
    const { host } = await setup({ allowInternetAccess: true });
    expect(evaluate(host, fromA(PUBLIC, { src: B.addresses.ipv4 })).action).toBe('block');
    const inbound: Packet = {
      direction: 'out',
      iface: 'tap0',
      proto: 'tcp',
      src: PUBLIC,
      sport: 5555,
      dst: A.addresses.ipv4,
      dport: 22,
    };
    expect(evaluate(host, inbound).action).toBe('block');
    // The host itself may reach its sandboxes (readiness probes).
    expect(evaluate(host, { ...inbound, src: '10.77.0.1' }).action).toBe('pass');
  });

  it('an endpoint with no anchor (idle, recycled, left by a crash) can neither send nor be reached', async () => {
    const { host } = await setup({ allowInternetAccess: true });
    addInterface(netState(host), 'tap2', 'tap', null).groups.add('cpt_ep');
    const idle: Packet = {
      direction: 'in',
      iface: 'tap2',
      proto: 'tcp',
      src: '10.77.0.9',
      sport: 1,
      dst: PUBLIC,
      dport: 443,
    };
    expect(evaluate(host, idle).action).toBe('block');
    expect(evaluate(host, { ...idle, direction: 'out', src: PUBLIC, dst: '10.77.0.9' }).action).toBe('block');
  });

  it('a forward takes host port traffic to the sandbox, but never from another sandbox', async () => {
    const { host } = await setup({}, { forwards: [{ protocol: 'tcp', hostPort: 8080, sandboxPort: 80 }] });
    const ext: Packet = {
      direction: 'in',
      iface: 'em0',
      proto: 'tcp',
      src: PUBLIC,
      sport: 5555,
      dst: '192.0.2.10',
      dport: 8080,
    };
    const v = evaluate(host, ext);
    expect(v.action).toBe('pass');
    expect(v.rdr).toEqual({ dst: A.addresses.ipv4, dport: 80 });
    // The redirected packet leaves on tap0 (a new evaluation, outbound; the forward's tag lets it in); the reply
    // comes back through the states, and leaves em0 translated back by the forward's state.
    const redirected: Packet = {
      direction: 'out',
      iface: 'tap0',
      proto: 'tcp',
      src: PUBLIC,
      sport: 5555,
      dst: A.addresses.ipv4,
      dport: 80,
    };
    expect(evaluate(host, { ...redirected, tag: v.tag }).action).toBe('pass');
    expect(
      evaluate(host, {
        direction: 'in',
        iface: 'tap0',
        proto: 'tcp',
        src: A.addresses.ipv4,
        sport: 80,
        dst: PUBLIC,
        dport: 5555,
      }).viaState,
    ).toBeDefined();
    expect(
      evaluate(host, {
        direction: 'out',
        iface: 'em0',
        proto: 'tcp',
        src: A.addresses.ipv4,
        sport: 80,
        dst: PUBLIC,
        dport: 5555,
      }).viaState,
    ).toBeDefined();
    // Without the forward's tag (sent straight to the sandbox's address from outside), it does not get in.
    expect(evaluate(host, { ...redirected, sport: 6666 }).action).toBe('block');
    const fromB: Packet = {
      direction: 'in',
      iface: 'tap1',
      proto: 'tcp',
      src: B.addresses.ipv4,
      sport: 5555,
      dst: '10.77.0.1',
      dport: 8080,
    };
    expect(evaluate(host, fromB).action).toBe('block');
  });

  it('a bulk replace is one pfctl call and takes effect; withdrawing access and killing states closes open connections', async () => {
    const { host, fw } = await setup();
    const many = Array.from({ length: 1000 }, (_, i) => `203.0.${Math.floor(i / 250)}.${(i % 250) + 1}`);
    const before = host.calls.length;
    await fw.replaceAddresses(A.id, 'allowOut', many);
    expect(host.calls.slice(before)).toEqual([
      ['pfctl', '-a', 'cube/sandbox-aaaaaaaaaaaa', '-t', 'sandbox_allow', '-T', 'replace', '-f', '-'],
    ]);
    const conn = fromA('203.0.3.250');
    expect(evaluate(host, conn).action).toBe('pass');
    expect((await fw.listStates({ ipv4: '10.77.0.0/24', ipv6: 'fd77::/64' })).map((s) => s.destination)).toEqual([
      '203.0.3.250',
    ]);
    await fw.replaceAddresses(A.id, 'allowOut', []);
    expect(evaluate(host, conn).viaState).toBeDefined();
    await fw.killStates(A.addresses);
    expect(evaluate(host, conn).action).toBe('block');
    expect(pfKernel(host).states).toEqual([]);
  });

  it('killStates with withdrawn destinations kills only the connections towards them (one -ss read, one -k pair each)', async () => {
    const { host, fw } = await setup({ allowOut: ['203.0.113.7', '198.51.100.0/24', '192.0.2.9'] });
    const conns = ['203.0.113.7', '198.51.100.20', '198.51.100.21', '192.0.2.9'].map((d) => fromA(d));
    for (const c of conns) expect(evaluate(host, c).action).toBe('pass');
    const before = host.calls.length;
    await fw.killStates(A.addresses, ['203.0.113.7', '198.51.100.0/24', '10.1.2.3']);
    const calls = host.calls.slice(before);
    expect(calls[0]).toEqual(['pfctl', '-ss']);
    expect(calls.slice(1).sort()).toEqual([
      ['pfctl', '-k', A.addresses.ipv4, '-k', '198.51.100.20'],
      ['pfctl', '-k', A.addresses.ipv4, '-k', '198.51.100.21'],
      ['pfctl', '-k', A.addresses.ipv4, '-k', '203.0.113.7'],
    ]);
    expect(
      pfKernel(host)
        .states.map((s) => s.dst)
        .sort(),
    ).toEqual(['192.0.2.9']);
    // nothing withdrawn has a state: one read, no kill
    const quiet = host.calls.length;
    await fw.killStates(A.addresses, ['203.0.113.8']);
    expect(host.calls.slice(quiet)).toEqual([['pfctl', '-ss']]);
  });

  it('two prefixes on one host under the same anchor root: each lists, reconciles and flushes only its own anchors', async () => {
    const { host, fw } = await setup();
    const net = netState(host);
    addInterface(net, 'tap7', 'tap', null).groups.add('cpv_ep');
    const other = new PfFirewall(host, 'cpv', { maxSandboxes: 10 });
    const setupV = {
      bridge: 'cpv-br',
      ipv4Subnet: '10.79.0.0/24',
      ipv6Subnet: 'fd79::/64',
      gateway: { ipv4: '10.79.0.1', ipv6: 'fd79::1' },
    };
    // The main ruleset holds cpt's hook, so cpv's init asks the operator to add its own lines, which they do.
    const refused = await other.init(setupV).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(PfRootHookError);
    const lines = (refused as Error).message.split('\n').slice(1).join('\n');
    const main = (await host.run(['pfctl', '-sr'])).stdout;
    expect((await host.run(['pfctl', '-f', '-'], { input: `${main}${lines}\n` })).code).toBe(0);
    await other.init(setupV);
    const C = {
      id: 'cccccccccccc' as SandboxId,
      addresses: { ipv4: '10.79.0.5', ipv6: 'fd79::5' },
      hostInterface: 'tap7',
    };
    await other.applySandbox({ ...C, policy: { ...DEFAULT_POLICY }, forwards: [] });
    expect((await host.run(['pfctl', '-a', 'cube', '-sA'])).stdout.split('\n').filter(Boolean)).toHaveLength(3);

    expect((await fw.inventory()).sandboxes.map((s) => s.id).sort()).toEqual([A.id, B.id]);
    expect((await other.inventory()).sandboxes.map((s) => s.id)).toEqual([C.id]);
    await other.destroy();
    expect((await host.run(['pfctl', '-a', 'cube', '-sA'])).stdout).toBe(
      '  cube/sandbox-aaaaaaaaaaaa\n  cube/sandbox-bbbbbbbbbbbb\n',
    );
    expect(evaluate(host, fromA(PUBLIC)).action).toBe('block'); // A's anchor still decides A's traffic
    await fw.destroy();
    expect((await host.run(['pfctl', '-a', 'cube', '-sA'])).stdout).toBe('');
  });

  it('removeSandbox leaves no anchor, table or binding behind', async () => {
    const { host, fw } = await setup({}, { forwards: [{ protocol: 'udp', hostPort: 5353, sandboxPort: 53 }] });
    const inv = await fw.inventory();
    expect(inv.rootHook).toBe(true);
    const a = inv.sandboxes.find((s) => s.id === A.id)!;
    expect(a.sets.sort()).toEqual(fw.setNames(A.id).sort());
    expect(a.forwards).toEqual([{ protocol: 'udp', hostPort: 5353, sandboxPort: 53 }]);
    expect(a.addresses.sort()).toEqual(['10.77.0.5', 'fd77::5']);
    expect(inv.bindings).toContainEqual({ hostInterface: 'tap0', address: '10.77.0.5' });
    await fw.removeSandbox(A.id);
    await fw.removeSandbox(B.id);
    await fw.removeSandbox(B.id); // idempotent
    expect((await fw.inventory()).sandboxes).toEqual([]);
    expect((await host.run(['pfctl', '-a', 'cube', '-sA'])).stdout).toBe('');
  });

  it('the backend itself refuses values that would change the rule text, before pfctl runs', async () => {
    const { host, fw, rulesA } = await setup();
    const before = host.calls.length;
    const hostile: SandboxRules[] = [
      { ...rulesA, policy: { ...rulesA.policy, allowOut: ['10.0.0.1 }\npass quick all\ntable <x> {'] } },
      { ...rulesA, hostInterface: 'tap0 all\npass' },
      { ...rulesA, addresses: { ipv4: 'any', ipv6: 'fd77::5' } },
      { ...rulesA, id: 'aaaaaaaaaaaa/../x' as SandboxId },
      { ...rulesA, forwards: [{ protocol: 'tcp', hostPort: 70000, sandboxPort: 80 }] },
    ];
    for (const r of hostile) await expect(fw.applySandbox(r)).rejects.toThrow(/invalid/);
    await expect(fw.replaceAddresses(A.id, 'allowOut', ['10.0.0.1', '; rm -rf /'])).rejects.toThrow(/invalid/);
    await expect(fw.removeSandbox('../../x' as SandboxId)).rejects.toThrow(/invalid/);
    await expect(fw.addAddresses(A.id, 'private' as never, ['10.0.0.1'])).rejects.toThrow(/invalid/);
    expect(host.calls.slice(before)).toEqual([]);
  });

  it('init refuses to replace an operator ruleset that lacks the hook, and names the lines to add', async () => {
    const host = createFreeBsdHost();
    await host.run(['pfctl', '-f', '-'], { input: 'block drop in quick on em0 proto tcp to any port 23\n' });
    const fw = new PfFirewall(host, 'cpt', { egressInterface: 'em0' });
    const err = await fw
      .init({
        bridge: 'cpt-br',
        ipv4Subnet: '10.77.0.0/24',
        ipv6Subnet: 'fd77::/64',
        gateway: { ipv4: '10.77.0.1', ipv6: 'fd77::1' },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PfRootHookError);
    expect(String(err)).toContain('anchor "cube/*" all');
    expect(String(err)).toContain('nat on em0 inet from 10.77.0.0/24 to any -> (em0)');
  });

  it('every rendered anchor parses in the model (policy variants and forwards)', async () => {
    const host = createFreeBsdHost();
    const variants: SandboxPolicy[] = [
      { ...DEFAULT_POLICY },
      parsePolicy({
        allowInternetAccess: true,
        allowOut: ['10.0.0.0/8', '2001:db8::/32'],
        denyOut: ['1.1.1.1'],
        dnsAllow: ['fd77::1', '10.77.0.1'],
      }),
    ];
    for (const policy of variants) {
      for (const hostInterface of ['tap0', undefined]) {
        const text = renderSandboxAnchor({
          tag: 'cpt_pass',
          id: A.id,
          addresses: A.addresses,
          policy,
          forwards: [{ protocol: 'tcp', hostPort: 2222, sandboxPort: 22 }],
          endpointGroup: 'cpt_ep',
          ipv4Subnet: '10.77.0.0/24',
          ipv6Subnet: 'fd77::/64',
          ...(hostInterface ? { hostInterface } : {}),
        });
        const r = await host.run(['pfctl', '-a', 'cube/sandbox-aaaaaaaaaaaa', '-f', '-'], { input: text });
        expect(r.code, `${r.stderr}\n${text}`).toBe(0);
      }
    }
  });
});
