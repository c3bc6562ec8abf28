/** Audit and reconcile as pure diffs of the controller's belief against a kernel inventory (no kernel needed). */
import { describe, expect, it } from 'vitest';
import { auditDiff, rateLimitDiff, type DiffHelpers } from '../../src/net/cubenet/audit.ts';
import {
  firewallRepair,
  orphanStateHosts,
  sandboxesWithoutEndpoint,
  unownedEndpoints,
} from '../../src/net/cubenet/reconcile-plan.ts';
import type { FirewallInventory, KernelSandbox } from '../../src/net/firewall/firewall.ts';
import type { SandboxRecord } from '../../src/net/state.ts';
import { DEFAULT_POLICY, type InterfaceName, type SandboxId } from '../../src/net/types.ts';

function record(n: number, extra: Partial<SandboxRecord> = {}): SandboxRecord {
  return {
    id: `00000000000${n}` as SandboxId,
    host: n,
    addresses: { ipv4: `10.9.0.${n}`, ipv6: `fd09::${n}` },
    endpoint: { kind: 'isolated', hostInterface: `cpd-e${n}` as InterfaceName, isolation: `cpd-e${n}` },
    policy: { ...DEFAULT_POLICY },
    forwards: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
}

function kernelOf(r: SandboxRecord): KernelSandbox {
  return { id: r.id, addresses: [r.addresses.ipv4, r.addresses.ipv6], sets: [`a4-${r.id}`], forwards: r.forwards };
}

function inventory(sandboxes: KernelSandbox[], extra: Partial<FirewallInventory> = {}): FirewallInventory {
  const bindings = sandboxes.flatMap((k) =>
    k.addresses.map((address) => ({ hostInterface: `cpd-e${Number(k.id.slice(-1))}`, address })),
  );
  return { rootHook: true, sandboxes, orphanForwards: [], bindings, ...extra };
}

const helpers: DiffHelpers = {
  setNames: (id) => [`a4-${id}`],
  hostOf: (a) => {
    const m = /^(?:10\.9\.0\.|fd09::)(\d+)$/.exec(a);
    return m ? Number(m[1]) : undefined;
  },
};

const none = { endpoints: [], chains: [], sets: [], forwards: [], bindings: [], states: [] };

describe('audit diff', () => {
  it('finds nothing when belief and kernel agree (idle endpoints included)', () => {
    const a = record(2);
    const diff = auditDiff(
      { sandboxes: [a], idleEndpoints: ['cpd-e9'] },
      {
        endpoints: ['cpd-e2', 'cpd-e9'],
        firewall: inventory([kernelOf(a)]),
        states: [{ protocol: 'tcp', source: '10.9.0.2', destination: '192.0.2.1', replySource: '192.0.2.1' }],
      },
      helpers,
    );
    expect(diff).toEqual({ leaks: none, missing: { endpoints: [], chains: [], sets: [], forwards: [] } });
  });

  it('names kernel objects nobody owns as leaks and believed objects the kernel lacks as missing', () => {
    const a = record(2, { forwards: [{ protocol: 'tcp', hostPort: 8080, sandboxPort: 80 }] });
    const gone = record(3, { forwards: [{ protocol: 'udp', hostPort: 5353, sandboxPort: 53 }] });
    const diff = auditDiff(
      { sandboxes: [a], idleEndpoints: ['cpd-e9'] },
      {
        endpoints: ['cpd-e2', 'cpd-e3'],
        firewall: inventory([{ ...kernelOf(a), sets: ['a4-stale'], forwards: [] }, kernelOf(gone)], {
          orphanForwards: [{ protocol: 'tcp', hostPort: 9000, sandboxPort: 1, target: 'x' }],
          strayEntries: ['allow4 { 10.9.0.7 . 1.1.1.1 }'],
        }),
        states: [
          { protocol: 'tcp', source: '10.9.0.3', destination: '192.0.2.1', replySource: '192.0.2.1' },
          { protocol: 'udp', source: '10.9.0.1', destination: '10.9.0.200', replySource: '10.9.0.200' },
        ],
      },
      helpers,
    );
    expect(diff.leaks).toEqual({
      endpoints: ['cpd-e3'],
      chains: [`sbx-${gone.id}`],
      sets: ['a4-stale', `a4-${gone.id}`, 'allow4 { 10.9.0.7 . 1.1.1.1 }'],
      forwards: ['udp/5353->000000000003', 'tcp/9000->x'],
      bindings: ['cpd-e3 10.9.0.3', 'cpd-e3 fd09::3'],
      states: ['tcp 10.9.0.3 -> 192.0.2.1', 'udp 10.9.0.1 -> 10.9.0.200'],
    });
    expect(diff.missing).toEqual({
      endpoints: ['cpd-e9'],
      chains: [],
      sets: [`a4-${a.id}`],
      forwards: ['tcp/8080->000000000002'],
    });
  });

  it('a state between the gateway and an outside address belongs to no sandbox', () => {
    const diff = auditDiff(
      { sandboxes: [], idleEndpoints: [] },
      {
        endpoints: [],
        firewall: inventory([]),
        states: [{ protocol: 'icmp', source: '10.9.0.1', destination: '192.0.2.9', replySource: '192.0.2.9' }],
      },
      helpers,
    );
    expect(diff.leaks.states).toEqual([]);
  });

  it('rate limits: a kernel object of no limited sandbox is stray, a limited sandbox without its rate is absent', () => {
    const limited = record(2, { rateLimit: { egressMbit: 10 } });
    const otherRate = record(4, { rateLimit: { egressMbit: 50 } });
    const { stray, absent } = rateLimitDiff(
      [limited, otherRate, record(5)],
      [
        { object: 'ifb2', slot: 2, egressMbit: 10 },
        { object: 'ifb4', slot: 4, egressMbit: 20 },
        { object: 'ifb5', slot: 5 },
      ],
    );
    expect(stray.map((k) => k.object)).toEqual(['ifb5']);
    expect(absent.map((r) => r.id)).toEqual([otherRate.id]);
  });
});

describe('reconcile plan', () => {
  it('drops sandboxes whose endpoint is gone and destroys endpoints no sandbox owns', () => {
    const a = record(2);
    const b = record(3);
    expect(sandboxesWithoutEndpoint([a, b], ['cpd-e2'])).toEqual([b]);
    const kernel = [a.endpoint, { kind: 'tap' as const, hostInterface: 'cpd-t1' as InterfaceName }];
    expect(unownedEndpoints([a], kernel).map((e) => e.hostInterface)).toEqual(['cpd-t1']);
  });

  it('removes unknown kernel sandboxes, re-applies missing ones, clears and re-applies those that differ', () => {
    const same = record(2);
    const differs = record(3);
    const absent = record(4);
    const stranger = {
      id: '0000000000ff' as SandboxId,
      addresses: ['10.9.0.9', 'fd09::9'],
      sets: [],
      forwards: [{ protocol: 'tcp' as const, hostPort: 1, sandboxPort: 2 }],
    };
    const inv = inventory([kernelOf(same), { ...kernelOf(differs), sets: ['a4-old'] }, stranger], {
      bindings: [
        { hostInterface: 'cpd-e2', address: '10.9.0.2' },
        { hostInterface: 'cpd-e9', address: '10.9.0.9' },
      ],
    });
    const plan = firewallRepair([same, differs, absent], inv, helpers.setNames);
    expect(plan.remove).toEqual([
      { id: stranger.id, known: { addresses: { ipv4: '10.9.0.9', ipv6: 'fd09::9' }, forwards: stranger.forwards } },
    ]);
    expect(plan.reapply).toEqual([
      { record: differs, clearFirst: { addresses: differs.addresses, forwards: [], hostInterface: 'cpd-e3' } },
      { record: absent },
    ]);
    expect(plan.stray.bindings).toEqual([{ hostInterface: 'cpd-e9', address: '10.9.0.9' }]);
  });

  it('a kernel sandbox without both addresses is removed by id alone; without the root hook nothing is planned', () => {
    const half = { id: '0000000000ee' as SandboxId, addresses: ['10.9.0.8'], sets: [], forwards: [] };
    expect(firewallRepair([], inventory([half]), helpers.setNames).remove).toEqual([{ id: half.id, known: undefined }]);
    const plan = firewallRepair([record(2)], { ...inventory([half]), rootHook: false }, helpers.setNames);
    expect(plan).toEqual({ remove: [], reapply: [], stray: { forwards: [], bindings: [], entries: [] } });
  });

  it('kills the states of addresses no active sandbox has, never the gateway', () => {
    const hosts = orphanStateHosts(
      [record(2)],
      [
        { protocol: 'tcp', source: '10.9.0.2', destination: '10.9.0.1', replySource: '10.9.0.1' },
        { protocol: 'tcp', source: '10.9.0.5', destination: '192.0.2.1', replySource: '192.0.2.1' },
        { protocol: 'tcp', source: '192.0.2.1', destination: 'fd09::6', replySource: 'fd09::6' },
      ],
      helpers.hostOf,
    );
    expect(hosts).toEqual([5, 6]);
  });
});
