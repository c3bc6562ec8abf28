/**
 * Whole-policy loads and releases through the netlink element writer (sandbox-items.ts) on the real kernel (root):
 * they leave both tables exactly as the same calls as nft text do, a load the kernel refuses changes nothing, and
 * traffic is allowed and denied as the loaded policy says. Prefixes "cpsh" (writer) and "cpst" (nft text) for the
 * table comparison, "cpsl" with 10.86.0.0/24 + fd86::/64 for traffic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cubenet, Sandbox } from '../../src/net/cubenet.ts';
import { NftablesFirewall } from '../../src/net/firewall/nftables/nftables.ts';
import { builtSetElementWriter } from '../../src/net/firewall/nftables/set-element-writer.ts';
import type { SandboxRules } from '../../src/net/firewall/firewall.ts';
import { openLinuxCubenet } from '../../src/net/linux.ts';
import { parseInterfaceName, parsePolicy, parseSandboxId } from '../../src/net/validate.ts';
import { canRunKernelTests, connect, runner, serve, stopAll, tempDir } from './helpers.ts';

const skip = await canRunKernelTests();
const WRITER = 'cpsh';
const TEXT = 'cpst';
const SETUP = { bridge: 'cpsx-br', ipv4Subnet: '10.87.0.0/24', ipv6Subnet: 'fd87::/64' };

/** Both tables of a prefix as nft lists them, with the prefix and the handles taken out. */
async function tables(prefix: string): Promise<string> {
  let out = '';
  for (const family of ['inet', 'bridge']) {
    const r = await runner.run(['nft', 'list', 'table', family, prefix]);
    expect(r.stderr).toBe('');
    out += r.stdout.replaceAll(prefix, 'PREFIX');
  }
  return out;
}

async function dropTables(prefix: string): Promise<void> {
  await runner.run([
    'nft',
    `add table inet ${prefix}; delete table inet ${prefix}; add table bridge ${prefix}; delete table bridge ${prefix}`,
  ]);
}

function rules(n: number, policy: unknown, extra: Partial<SandboxRules> = {}): SandboxRules {
  return {
    id: parseSandboxId(n.toString(16).padStart(12, '0')),
    addresses: { ipv4: `10.87.0.${n}`, ipv6: `fd87::${n.toString(16)}` },
    policy: parsePolicy(policy),
    forwards: [],
    hostInterface: parseInterfaceName(`cpsx-t${n}`),
    ...extra,
  };
}

describe.skipIf(skip)('whole-policy loads through the netlink element writer (real kernel)', () => {
  const binary = builtSetElementWriter();
  let writer: NftablesFirewall;
  let text: NftablesFirewall;

  beforeAll(async () => {
    if (!binary)
      throw new Error(
        'native/bin/nft-set-elements is not built: run packages/runtime/native/build.sh (scripts/setup.sh does)',
      );
    writer = new NftablesFirewall(runner, WRITER, { persistentSession: true, setElementWriter: binary });
    text = new NftablesFirewall(runner, TEXT, { persistentSession: true });
    await writer.init(SETUP);
    await text.init(SETUP);
  });

  afterAll(async () => {
    writer?.close();
    text?.close();
    await dropTables(WRITER);
    await dropTables(TEXT);
  });

  it('leaves both tables as nft text does: load, reload with other lists, forwards and interface, release', async () => {
    const first = rules(
      2,
      {
        allowOut: ['198.51.100.7', '2001:db8::7', '192.0.2.0/24', '192.0.2.128/25', '2001:db8:1::/48'],
        denyOut: ['198.51.100.9', '2001:db8:2::/64'],
        dnsAllow: ['192.0.2.53', '2001:db8::53'],
        allowInternetAccess: true,
      },
      {
        forwards: [
          { protocol: 'tcp', hostPort: 18702, sandboxPort: 80 },
          { protocol: 'udp', hostPort: 18703, sandboxPort: 53 },
        ],
      },
    );
    const second = rules(
      2,
      { allowOut: ['198.51.100.8', '203.0.113.0/24'], denyOut: ['2001:db8:3::/64'] },
      {
        forwards: [
          { protocol: 'tcp', hostPort: 18702, sandboxPort: 80 },
          { protocol: 'tcp', hostPort: 18704, sandboxPort: 8080 },
        ],
        hostInterface: parseInterfaceName('cpsx-t2b'),
      },
    );
    const other = rules(3, { allowOut: ['198.51.100.7'] });
    for (const fw of [writer, text]) {
      await fw.applySandbox(first);
      await fw.applySandbox(other);
    }
    expect(await tables(WRITER)).toBe(await tables(TEXT));
    expect(await tables(WRITER)).toContain('comment "sbx-000000000002"');
    for (const fw of [writer, text]) await fw.applySandbox(second, first);
    expect(await tables(WRITER)).toBe(await tables(TEXT));
    // re-applying what is in force changes nothing and does not fail
    for (const fw of [writer, text]) await fw.applySandbox(second, second);
    expect(await tables(WRITER)).toBe(await tables(TEXT));
    for (const fw of [writer, text]) await fw.removeSandbox(second.id, second);
    const left = await tables(WRITER);
    expect(left).toBe(await tables(TEXT));
    expect(left).not.toContain('10.87.0.2 ');
    expect(left).not.toContain('cpsx-t2');
    expect((await writer.inventory()).sandboxes.map((s) => s.id)).toEqual([other.id]);
  });

  it('applies nothing of a load the kernel refuses (a host port another sandbox forwards), in either table', async () => {
    const holder = rules(4, {}, { forwards: [{ protocol: 'tcp', hostPort: 18710, sandboxPort: 80 }] });
    await writer.applySandbox(holder);
    const before = await tables(WRITER);
    const taker = rules(
      5,
      { allowOut: ['198.51.100.5'], allowInternetAccess: true },
      { forwards: [{ protocol: 'tcp', hostPort: 18710, sandboxPort: 81 }] },
    );
    await expect(writer.applySandbox(taker)).rejects.toThrow();
    expect(await tables(WRITER)).toBe(before);
    await writer.removeSandbox(holder.id, holder);
  });
});

describe.skipIf(skip)('a loaded policy allows and denies real traffic', () => {
  const PORT = 18720;
  let net: Cubenet;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let a: Sandbox, b: Sandbox, c: Sandbox;
  const ns = (s: Sandbox) => s.endpoint.isolation!;

  beforeAll(async () => {
    dir = await tempDir();
    net = await openLinuxCubenet({
      config: { prefix: 'cpsl', ipv4Subnet: '10.86.0.0/24', ipv6Subnet: 'fd86::/64', stateDir: dir.path },
    });
    await net.init();
    [b, c] = await Promise.all([net.checkout(), net.checkout()]);
    await Promise.all([serve(ns(b), PORT), serve(ns(c), PORT)]);
  });

  afterAll(async () => {
    stopAll();
    await net?.teardown();
    await net?.close();
    await dir?.remove();
  });

  it('checkout and setPolicy load the whole policy through the writer, and traffic follows it', async () => {
    a = await net.checkout({ policy: { allowOut: [b.addresses.ipv4, c.addresses.ipv6] } });
    expect(
      (await runner.run(['pgrep', '-P', String(process.pid), '-f', 'native/bin/nft-set-elements'])).code,
      'the writer runs as our child',
    ).toBe(0);
    expect(await connect(ns(a), b.addresses.ipv4, PORT)).toBe(a.addresses.ipv4);
    expect(await connect(ns(a), c.addresses.ipv6, PORT)).toBe(a.addresses.ipv6);
    expect(await connect(ns(a), c.addresses.ipv4, PORT)).toBeUndefined();
    expect(await connect(ns(a), b.addresses.ipv6, PORT)).toBeUndefined();
    await net.setPolicy(a.id, { allowOut: ['10.86.0.0/24'], denyOut: [b.addresses.ipv4] });
    expect(await connect(ns(a), c.addresses.ipv4, PORT)).toBe(a.addresses.ipv4);
    expect(await connect(ns(a), b.addresses.ipv4, PORT)).toBeUndefined();
    expect(await connect(ns(a), c.addresses.ipv6, PORT)).toBeUndefined();
    expect((await net.audit()).ok).toBe(true);
    await net.release(a.id);
    expect((await net.audit()).ok).toBe(true);
  });
});
