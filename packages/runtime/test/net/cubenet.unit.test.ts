/**
 * cubenet's orchestration against in-memory backends (no kernel): ordering of concurrent operations on one
 * sandbox, address exhaustion, and that a release never makes the next checkout wait for the slow teardown.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandRunner } from '../../src/host/command-runner.ts';
import { Cubenet } from '../../src/net/cubenet.ts';
import type { BridgeSetup, Endpoint, EndpointProvider } from '../../src/net/endpoint/endpoint.ts';
import type { FirewallBackend, FirewallInventory, SandboxRules } from '../../src/net/firewall/firewall.ts';
import { AddressExhaustedError } from '../../src/net/ipam.ts';
import type { EndpointKind, InterfaceName, SandboxAddresses, SandboxId } from '../../src/net/types.ts';
import { tempDir } from './helpers.ts';

const noRunner: CommandRunner = { run: () => Promise.reject(new Error('no commands in unit tests')) };

class MemoryFirewall implements FirewallBackend {
  readonly kind = 'nftables' as const;
  readonly applied = new Map<string, SandboxRules>();
  readonly log: string[] = [];
  killDelayMs = 0;
  async preflight() {
    return [];
  }
  async init() {}
  async destroy() {
    this.applied.clear();
  }
  async applySandbox(r: SandboxRules) {
    this.log.push(`apply ${r.id} ${r.policy.allowOut.join(',')}`);
    this.applied.set(r.id, structuredClone(r));
  }
  async addAddresses() {}
  async replaceAddresses() {}
  async addForward() {}
  async removeForward() {}
  async removeSandbox(id: SandboxId) {
    this.log.push(`remove ${id}`);
    this.applied.delete(id);
  }
  async killStates(a: SandboxAddresses) {
    this.log.push(`kill ${a.ipv4}`);
    await new Promise((r) => setTimeout(r, this.killDelayMs));
  }
  async listStates() {
    return [];
  }
  setNames(id: SandboxId) {
    return [`a4-${id}`];
  }
  async inventory(): Promise<FirewallInventory> {
    return {
      rootHook: true,
      sandboxes: [...this.applied.values()].map((r) => ({
        id: r.id,
        addresses: [r.addresses.ipv4, r.addresses.ipv6],
        sets: [`a4-${r.id}`],
        forwards: r.forwards,
      })),
      orphanForwards: [],
      bindings: [],
    };
  }
  async removeStray() {}
}

class MemoryEndpoints implements EndpointProvider {
  readonly live = new Map<string, Endpoint>();
  async preflight() {
    return [];
  }
  async initBridge(_: BridgeSetup) {}
  async destroyBridge() {}
  async create(kind: EndpointKind, name: InterfaceName) {
    const e = { kind, hostInterface: name, ...(kind === 'isolated' ? { isolation: name } : {}) };
    this.live.set(name, e);
    return e;
  }
  async address() {}
  async unaddress() {}
  async destroy(e: Endpoint) {
    this.live.delete(e.hostInterface);
  }
  commandIn(_: Endpoint, argv: readonly string[]) {
    return [...argv];
  }
  async exec(): Promise<never> {
    throw new Error('no exec');
  }
  async list(prefix: string) {
    return [...this.live.values()].filter((e) => e.hostInterface.startsWith(`${prefix}-`));
  }
}

describe('cubenet orchestration (in-memory backends)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function open(options: { last?: number } = {}) {
    const dir = await tempDir();
    const firewall = new MemoryFirewall();
    const endpoints = new MemoryEndpoints();
    const net = await Cubenet.open({
      config: {
        prefix: 'cpu',
        ipv4Subnet: '10.91.0.0/24',
        ipv6Subnet: 'fd91::/64',
        stateDir: dir.path,
        lockDir: dir.path,
        ...(options.last ? { allocatable: { first: 2, last: options.last } } : {}),
      },
      runner: noRunner,
      firewall,
      endpoints,
      enableForwarding: false,
    });
    cleanups.push(async () => {
      await net.close();
      await dir.remove();
    });
    await net.init();
    return { net, firewall, endpoints, dir };
  }

  it('runs operations on one sandbox in the order they were called, and nothing after its release', async () => {
    const { net, firewall } = await open();
    const s = await net.checkout();
    firewall.log.length = 0;
    const calls = [
      net.setPolicy(s.id, { allowOut: ['192.0.2.1'] }),
      net.setPolicy(s.id, { allowOut: ['192.0.2.2'] }),
      net.release(s.id),
      net.setPolicy(s.id, { allowOut: ['192.0.2.3'] }),
    ];
    const results = await Promise.allSettled(calls);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    expect(firewall.log.filter((l) => !l.startsWith('kill')).slice(0, 3)).toEqual([
      `apply ${s.id} 192.0.2.1`,
      `apply ${s.id} 192.0.2.2`,
      `remove ${s.id}`,
    ]);
    expect((results[3] as PromiseRejectedResult).reason.message).toMatch(/no such sandbox/);
  });

  it('says clearly when addresses run out, and frees them again after release', async () => {
    const { net } = await open({ last: 4 });
    const got = await Promise.all([net.checkout(), net.checkout(), net.checkout()]);
    expect(new Set(got.map((s) => s.addresses.ipv4)).size).toBe(3);
    await expect(net.checkout()).rejects.toBeInstanceOf(AddressExhaustedError);
    await net.release(got[0]!.id);
    await net.settle();
    // recycled: the endpoint went back to the idle pool with its address, and is handed out again
    const again = await net.checkout();
    expect(again.addresses.ipv4).toBe(got[0]!.addresses.ipv4);
  });

  it('a release returns before its slow teardown, and the next checkout does not wait for it', async () => {
    const { net, firewall } = await open();
    await net.warm('isolated', 2);
    const s = await net.checkout();
    firewall.killDelayMs = 500;
    const t0 = performance.now();
    await net.release(s.id);
    const next = await net.checkout();
    expect(performance.now() - t0).toBeLessThan(250);
    expect(next.id).not.toBe(s.id);
    await net.settle(); // the state kill finishes after
    expect(firewall.log).toContain(`kill ${s.addresses.ipv4}`);
    expect((await net.audit()).ok).toBe(true);
  });

  it('refuses a second controller for the same prefix', async () => {
    const { dir } = await open();
    await expect(
      Cubenet.open({
        config: {
          prefix: 'cpu',
          ipv4Subnet: '10.91.0.0/24',
          ipv6Subnet: 'fd91::/64',
          stateDir: `${dir.path}/other`,
          lockDir: dir.path,
        },
        runner: noRunner,
        firewall: new MemoryFirewall(),
        endpoints: new MemoryEndpoints(),
      }),
    ).rejects.toThrow(/held by running process/);
  });
});
