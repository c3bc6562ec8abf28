/**
 * The nftables layout on the real kernel (root): a fixed set of shared sets whatever the number of sandboxes, policy
 * changes as element diffs (nested CIDRs included), recovery when the kernel lost an element behind the runtime's
 * back, release leaving no element of the sandbox, and IPv6 neighbour-advertisement spoofing from a link-local
 * source. Prefix "cpl", 10.83.0.0/24 + fd83::/64.
 */
import { access } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cubenet, type Sandbox } from '../../src/net/cubenet.ts';
import { LinuxEndpoints } from '../../src/net/endpoint/linux/netns.ts';
import { NftablesFirewall } from '../../src/net/firewall/nftables/nftables.ts';
import { builtSetElementWriter } from '../../src/net/firewall/nftables/set-element-writer.ts';
import { openLinuxCubenet } from '../../src/net/linux.ts';
import { canRunKernelTests, connect, runner, serve, startIn, stopAll, TCP_TOOL, tempDir } from './helpers.ts';

const skip = await canRunKernelTests();
const PREFIX = 'cpl';
const PORT = 18300;
const SEND_NA = fileURLToPath(new URL('./fixtures/send-na.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const hasPython = await access(PYTHON).then(
  () => true,
  () => false,
);

/** Names of the objects (sets, maps, chains) in the prefix's inet table, and its elements' keys by set. */
async function table(): Promise<{ objects: string[]; elements: Map<string, string[]> }> {
  const r = await runner.run(['nft', '-j', 'list', 'table', 'inet', PREFIX]);
  const objects: string[] = [];
  const elements = new Map<string, string[]>();
  for (const o of JSON.parse(r.stdout).nftables as Array<Record<string, { name: string; elem?: unknown[] }>>) {
    for (const kind of ['set', 'map', 'chain']) {
      const x = o[kind];
      if (!x) continue;
      objects.push(`${kind} ${x.name}`);
      if (x.elem)
        elements.set(
          x.name,
          x.elem.map((e) => JSON.stringify(e)),
        );
    }
  }
  return { objects: objects.sort(), elements };
}

describe.skipIf(skip)('nftables layout (real kernel)', () => {
  let net: Cubenet;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let a: Sandbox, b: Sandbox;
  const ns = (s: Sandbox) => s.endpoint.isolation!;

  beforeAll(async () => {
    dir = await tempDir();
    net = await openLinuxCubenet({
      config: { prefix: PREFIX, ipv4Subnet: '10.83.0.0/24', ipv6Subnet: 'fd83::/64', stateDir: dir.path },
    });
    await net.init();
  });

  afterAll(async () => {
    stopAll();
    await net?.teardown();
    await net?.close();
    await dir?.remove();
  });

  it('holds the same objects with 0 or 3 sandboxes: a sandbox is only elements keyed by its addresses', async () => {
    const empty = await table();
    [a, b] = await Promise.all([net.checkout(), net.checkout()]);
    const c = await net.checkout({
      policy: {
        allowOut: ['192.0.2.0/24', '198.51.100.7', '2001:db8::/32'],
        denyOut: ['192.0.2.9'],
        dnsAllow: ['192.0.2.53'],
        allowInternetAccess: true,
      },
    });
    const full = await table();
    expect(full.objects).toEqual(empty.objects);
    const mentions = (address: string, t: typeof full) =>
      [...t.elements.values()].flat().filter((e) => e.includes(`"${address}"`)).length;
    expect(mentions(c.addresses.ipv4, full)).toBeGreaterThanOrEqual(5); // member, allow, allow net, deny, dns, internet
    await net.release(c.id);
    const after = await table();
    expect(mentions(c.addresses.ipv4, after)).toBe(0);
    expect(mentions(c.addresses.ipv6, after)).toBe(0);
    await Promise.all([serve(ns(a), PORT), serve(ns(b), PORT)]);
  });

  it('nested CIDRs in one list, and replacing a CIDR by one inside it, keep working with real traffic', async () => {
    await net.setPolicy(a.id, { allowOut: ['10.83.0.0/16', '10.83.0.0/24', '10.83.0.0/25', 'fd83::/48', 'fd83::/64'] });
    expect(await connect(ns(a), b.addresses.ipv4, PORT)).toBe(a.addresses.ipv4);
    expect(await connect(ns(a), b.addresses.ipv6, PORT)).toBe(a.addresses.ipv6);
    await net.replaceAddresses(a.id, 'allowOut', ['10.83.0.0/24', '10.83.0.128/25']);
    expect(await connect(ns(a), b.addresses.ipv4, PORT)).toBe(a.addresses.ipv4);
    expect(await connect(ns(a), b.addresses.ipv6, PORT)).toBeUndefined();
    await net.addAddresses(a.id, 'denyOut', [`${b.addresses.ipv4}`]);
    expect(await connect(ns(a), b.addresses.ipv4, PORT)).toBeUndefined();
    await net.setPolicy(a.id, {});
    expect((await net.audit()).ok).toBe(true);
  });

  it("a policy change lands even when the kernel lost one of its elements behind the runtime's back", async () => {
    await net.setPolicy(a.id, { allowOut: [b.addresses.ipv4, '192.0.2.0/24'] });
    await runner.run([
      'nft',
      'delete',
      'element',
      'inet',
      PREFIX,
      'allow4',
      `{ ${a.addresses.ipv4} . ${b.addresses.ipv4} }`,
    ]);
    const drifted = await net.audit();
    expect(drifted.missing.sets).toEqual([`allow4 { ${a.addresses.ipv4} . ${b.addresses.ipv4} }`]);
    // The runtime's diff deletes the element it believes in; nft refuses, and the backend retries against the kernel.
    await net.setPolicy(a.id, { allowOut: [b.addresses.ipv6] });
    expect(await connect(ns(a), b.addresses.ipv6, PORT)).toBe(a.addresses.ipv6);
    expect(await connect(ns(a), b.addresses.ipv4, PORT)).toBeUndefined();
    expect((await net.audit()).ok).toBe(true);
    await net.setPolicy(a.id, {});
  });

  it('list changes go through the netlink element writer, and land even when the kernel lost or gained an element', async () => {
    expect(builtSetElementWriter(), 'native/bin/nft-set-elements is built by scripts/setup.sh').toBeDefined();
    await net.setPolicy(a.id, { allowOut: [b.addresses.ipv4] });
    await runner.run([
      'nft',
      'delete',
      'element',
      'inet',
      PREFIX,
      'allow4',
      `{ ${a.addresses.ipv4} . ${b.addresses.ipv4} }`,
    ]);
    // the writer's delete of the lost element fails the transaction; the backend retries against the kernel
    await net.replaceAddresses(a.id, 'allowOut', [b.addresses.ipv6, '192.0.2.7', '198.51.100.0/24']);
    expect(
      (await runner.run(['pgrep', '-P', String(process.pid), '-f', 'native/bin/nft-set-elements'])).code,
      'the writer runs as our child',
    ).toBe(0);
    expect(await connect(ns(a), b.addresses.ipv6, PORT)).toBe(a.addresses.ipv6);
    expect(await connect(ns(a), b.addresses.ipv4, PORT)).toBeUndefined();
    expect((await net.audit()).ok).toBe(true);
    // an element already there (say, from a transaction whose state write was lost) fails the writer's add; same retry
    await runner.run([
      'nft',
      'add',
      'element',
      'inet',
      PREFIX,
      'allow4',
      `{ ${a.addresses.ipv4} . ${b.addresses.ipv4} }`,
    ]);
    await net.addAddresses(a.id, 'allowOut', [b.addresses.ipv4]);
    expect(await connect(ns(a), b.addresses.ipv4, PORT)).toBe(a.addresses.ipv4);
    expect((await net.audit()).ok).toBe(true);
    await net.setPolicy(a.id, {});
  });

  it.skipIf(!hasPython)(
    "a sandbox cannot claim another sandbox's IPv6 address in a neighbour advertisement from its link-local address",
    async () => {
      // The host learns b's link-layer address (a connection to b), then a advertises b's address with a fake one.
      const fromHost = (address: string) =>
        runner.run([process.execPath, TCP_TOOL, 'connect', address, String(PORT), '700']);
      expect((await fromHost(b.addresses.ipv6)).code).toBe(0);
      const lladdr = async (address: string) =>
        (await runner.run(['ip', '-6', 'neigh', 'show', address, 'dev', net.bridge])).stdout.match(/lladdr (\S+)/)?.[1];
      const bMac = await lladdr(b.addresses.ipv6);
      expect(bMac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      const fake = '02:00:00:00:0c:99';
      const sent = await runner.run(['ip', 'netns', 'exec', ns(a), PYTHON, SEND_NA, 'eth0', b.addresses.ipv6, fake]);
      expect(sent.stdout.trim(), sent.stderr).toBe('sent');
      await new Promise((r) => setTimeout(r, 300));
      expect(await lladdr(b.addresses.ipv6)).toBe(bMac);
      // Control: the same advertisement for a's own address passes the bridge and the host takes it.
      expect((await fromHost(a.addresses.ipv6)).code).toBe(0);
      await runner.run(['ip', 'netns', 'exec', ns(a), PYTHON, SEND_NA, 'eth0', a.addresses.ipv6, fake]);
      await new Promise((r) => setTimeout(r, 300));
      try {
        expect(await lladdr(a.addresses.ipv6)).toBe(fake);
      } finally {
        await runner.run(['ip', '-6', 'neigh', 'del', a.addresses.ipv6, 'dev', net.bridge]);
      }
    },
  );
});

describe.skipIf(skip)('nftables layout: a table of the earlier layout (a chain per sandbox)', () => {
  it('does not stop open(), and init replaces it', async () => {
    const dir = await tempDir();
    const old =
      'add table inet cpm; add map inet cpm out4 { type ipv4_addr : verdict; }; add chain inet cpm sbx-0123456789ab; add element inet cpm out4 { 10.84.0.9 : jump sbx-0123456789ab }';
    await runner.run(['nft', old]);
    const net = await openLinuxCubenet({
      config: { prefix: 'cpm', ipv4Subnet: '10.84.0.0/24', ipv6Subnet: 'fd84::/64', stateDir: dir.path },
    });
    try {
      await net.init();
      expect((await runner.run(['nft', 'list', 'map', 'inet', 'cpm', 'out4'])).code).not.toBe(0);
      const s = await net.checkout({ policy: { allowOut: ['192.0.2.0/24'] } });
      expect((await net.audit()).ok).toBe(true);
      await net.release(s.id);
    } finally {
      await net.teardown();
      await net.close();
      await runner.run(['nft', 'add table inet cpm; delete table inet cpm']);
      await dir.remove();
    }
  });
});

describe.skipIf(skip)('nftables layout: release cuts open connections in its own transaction', () => {
  // The release transaction removes the port's anti-spoof entries with the member entries, so the endpoint can send
  // nothing more (its replies are dropped on the bridge) while its conntrack entries still exist.
  it('an established connection stops at release, before the state kill runs', async () => {
    const dir = await tempDir();
    const real = new NftablesFirewall(runner, 'cpn', { persistentSession: true });
    // The state kill (background) waits 2 s: whatever stops the connection before that is the release transaction.
    const firewall = new Proxy(real, {
      get(t, key, receiver) {
        const v = Reflect.get(t, key, receiver);
        if (key === 'killStates')
          return async (...args: unknown[]) => (await new Promise((r) => setTimeout(r, 2000)), v.apply(t, args));
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const net = await Cubenet.open({
      config: { prefix: 'cpn', ipv4Subnet: '10.85.0.0/24', ipv6Subnet: 'fd85::/64', stateDir: dir.path },
      runner,
      firewall,
      endpoints: new LinuxEndpoints(runner),
    });
    let socket: Socket | undefined;
    try {
      await net.init();
      await net.warm('isolated', 1);
      const s = await net.checkout();
      await startIn(s.endpoint.isolation!, [process.execPath, TCP_TOOL, 'echo', String(PORT)], 'listening');
      socket = await new Promise<Socket>((resolve, reject) => {
        const c = createConnection({ host: s.addresses.ipv4, port: PORT }, () => resolve(c)).on('error', reject);
      });
      const echo = (text: string) =>
        new Promise<string | undefined>((resolve) => {
          const timer = setTimeout(() => resolve(undefined), 700);
          socket!.once('data', (d) => (clearTimeout(timer), resolve(d.toString())));
          socket!.write(text);
        });
      expect(await echo('before')).toBe('before');
      await net.release(s.id);
      expect(await echo('after')).toBeUndefined();
      await net.settle();
      expect((await net.audit()).ok).toBe(true);
    } finally {
      socket?.destroy();
      stopAll();
      await net.teardown();
      await net.close();
      await dir.remove();
    }
  });
});
