/**
 * Zero leaks after failures: a checkout that fails midway (firewall or endpoint step) leaves nothing, and a
 * controller killed with SIGKILL mid-checkout is cleaned up by the next one's reconcile. Prefix "cpk", 10.80.0.0/24.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessRunner } from '../../src/host/command-runner.ts';
import { Cubenet } from '../../src/net/cubenet.ts';
import type { EndpointProvider } from '../../src/net/endpoint/endpoint.ts';
import { LinuxEndpoints } from '../../src/net/endpoint/linux/netns.ts';
import type { FirewallBackend } from '../../src/net/firewall/firewall.ts';
import { NftablesFirewall } from '../../src/net/firewall/nftables/nftables.ts';
import { canRunKernelTests, runner, tempDir } from './helpers.ts';

const skip = await canRunKernelTests();
const PREFIX = 'cpk';
const V4 = '10.80.0.0/24';
const V6 = 'fd80::/64';

/** Wraps an object so that the named method throws on its `nth` call (after doing the real work when `after`). */
function failing<T extends object>(target: T, method: keyof T, nth: number, after = false): T {
  let calls = 0;
  return new Proxy(target, {
    get(t, key, receiver) {
      const v = Reflect.get(t, key, receiver);
      if (typeof v !== 'function') return v;
      if (key !== method) return v.bind(t);
      return async (...args: unknown[]) => {
        if (++calls === nth) {
          if (after) await v.apply(t, args);
          throw new Error(`injected failure in ${String(method)}`);
        }
        return v.apply(t, args);
      };
    },
  });
}

async function kernelObjects(): Promise<{ chains: number; links: string[]; netns: string[] }> {
  const t = await runner.run(['nft', 'list', 'table', 'inet', PREFIX]);
  const links = (await runner.run(['ip', '-br', 'link'])).stdout
    .split('\n')
    .map((l) => l.split(/[\s@]/)[0]!)
    .filter((n) => n.startsWith(`${PREFIX}-`));
  const netns = (await runner.run(['ip', 'netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${PREFIX}-`));
  // A sandbox's hook is its two member elements (members4, members6), each commented "sbx-<id>".
  const ids = new Set(t.stdout.match(/comment "sbx-[0-9a-f]{12}"/g) ?? []);
  return { chains: ids.size, links, netns };
}

describe.skipIf(skip)('cubenet failure paths leave nothing behind', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const real = new ProcessRunner();

  beforeAll(async () => {
    dir = await tempDir();
  });

  afterAll(async () => {
    const net = await Cubenet.open({
      config: { prefix: PREFIX, ipv4Subnet: V4, ipv6Subnet: V6, stateDir: dir.path },
      runner: real,
      firewall: new NftablesFirewall(real, PREFIX),
      endpoints: new LinuxEndpoints(real),
    });
    await net.teardown();
    await net.close();
    await dir.remove();
  });

  it('a checkout failing in the firewall step or the endpoint step is undone completely', async () => {
    for (const [label, wrap] of [
      [
        'firewall',
        (fw: FirewallBackend, ep: EndpointProvider) => ({
          firewall: failing(fw, 'applySandbox', 2, true),
          endpoints: ep,
        }),
      ],
      [
        'endpoint (fresh)',
        (fw: FirewallBackend, ep: EndpointProvider) => ({ firewall: fw, endpoints: failing(ep, 'address', 2) }),
      ],
    ] as const) {
      const fw = new NftablesFirewall(real, PREFIX, { persistentSession: true });
      const net = await Cubenet.open({
        config: { prefix: PREFIX, ipv4Subnet: V4, ipv6Subnet: V6, stateDir: dir.path },
        runner: real,
        ...wrap(fw, new LinuxEndpoints(real)),
      });
      try {
        await net.init();
        const ok = await net.checkout();
        await expect(
          net.checkout({ forwards: [{ protocol: 'tcp', hostPort: 29999, sandboxPort: 80 }] }),
          label,
        ).rejects.toThrow(/injected failure/);
        await net.settle();
        const audit = await net.audit();
        expect(audit.ok, `${label}: ${JSON.stringify(audit)}`).toBe(true);
        expect(net.list().map((s) => s.id)).toEqual([ok.id]);
        expect(net.ipam.inUse).toBe(1 + net.idleCount('isolated'));
        await net.release(ok.id);
        await net.settle();
        expect((await net.audit()).ok).toBe(true);
      } finally {
        await net.teardown();
        await net.close();
      }
      expect(await kernelObjects()).toEqual({ chains: 0, links: [], netns: [] });
    }
  });

  it('a controller killed with SIGKILL mid-checkout is cleaned up by the next start (reconcile)', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/crashing-controller.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir.path, PREFIX, V4, V6, '4'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`controller never reached mid-checkout: ${out} ${err}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('mid-checkout')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => reject(new Error(`controller exited ${code}: ${err}`)));
    });
    const scriptDirsOfKilled = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`${PREFIX}-nft-${child.pid}-`));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const left = await kernelObjects();
    expect(left.chains).toBe(4); // 3 checked out + the one cut short
    expect(scriptDirsOfKilled()).toHaveLength(1); // its nft session's folder (it sent a long script at init)
    const fw = new NftablesFirewall(real, PREFIX, { persistentSession: true });
    const net = await Cubenet.open({
      config: { prefix: PREFIX, ipv4Subnet: V4, ipv6Subnet: V6, stateDir: dir.path },
      runner: real,
      firewall: fw,
      endpoints: new LinuxEndpoints(real),
    });
    try {
      expect(net.list()).toHaveLength(3); // the finished checkouts survive the crash
      expect(net.lastReconcile!.removedChains).toHaveLength(1);
      expect(net.lastReconcile!.removedEndpoints.length).toBeGreaterThanOrEqual(1);
      expect((await net.audit()).ok).toBe(true);
      await net.releaseAll();
      await net.settle();
      const audit = await net.audit();
      expect(audit.ok, JSON.stringify(audit)).toBe(true);
      expect(audit.kernel.chains).toBe(0);
    } finally {
      await net.teardown();
      await net.close();
    }
    expect(await kernelObjects()).toEqual({ chains: 0, links: [], netns: [] });
    // the killed controller's nft script folder went with the next start
    expect(scriptDirsOfKilled()).toEqual([]);
  });
});
