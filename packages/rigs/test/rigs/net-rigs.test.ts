import { describe, expect, it } from 'vitest';
import { parseCidr } from '@coppice/runtime/net';
import { filler } from '../../src/lib/net/policy-filler.ts';
import { parseIperfIntervals } from '../../src/rigs/net-throughput/rig.ts';
import { manifests } from '../../src/manifests.ts';

const NETWORK_RIGS = ['lifecycle', 'net-rr', 'net-throughput', 'policy-update', 'policy-under-load'];
const networkManifests = manifests.filter((m) => NETWORK_RIGS.includes(m.id));

describe('network rigs', () => {
  it('manifests follow the naming contract', () => {
    expect(networkManifests.map((m) => m.id).sort()).toEqual([...NETWORK_RIGS].sort());
    const byId = new Map(networkManifests.map((m) => [m.id, m]));
    const metric = (id: string, name: string) => byId.get(id)?.metrics.find((m) => m.name === name);
    expect(metric('net-rr', 'rtt')).toMatchObject({ unit: 'us', labels: { family: ['ipv4', 'ipv6'] } });
    expect(metric('net-throughput', 'throughput')).toMatchObject({
      unit: 'Gbit/s',
      labels: { family: ['ipv4', 'ipv6'], streams: ['1', '16'] },
    });
    expect(metric('policy-update', 'update-latency')).toMatchObject({
      unit: 'ms',
      labels: { op: ['add-one', 'replace-1000', 'replace-1000-floor'] },
    });
    expect(metric('policy-update', 'firewall-spawn')).toMatchObject({ unit: 'ms', labels: {} });
    expect(metric('policy-under-load', 'rtt')).toMatchObject({
      unit: 'us',
      labels: { condition: ['idle', 'mutating'] },
    });
    expect(metric('lifecycle', 'checkout')).toMatchObject({ unit: 'ms', labels: {} });
    expect(metric('lifecycle', 'release')).toMatchObject({ unit: 'ms', labels: {} });
    expect(byId.get('lifecycle')!.checks).toEqual(['leaked-after-release-all']);
    for (const m of networkManifests) expect(m.script).toBe(`packages/rigs/src/rigs/${m.id}/rig.ts`);
  });

  it('policy filler addresses are valid and distinct for any seed', () => {
    for (const seed of [1, 2, 3, 4, 57, 400, 65_535]) {
      const list = filler(100, seed);
      expect(new Set(list).size).toBe(100);
      for (const a of list) expect(() => parseCidr(a)).not.toThrow();
    }
  });

  it('reads iperf3 interval sums, leaving out omitted intervals, and surfaces iperf3 errors', () => {
    const json = JSON.stringify({
      intervals: [
        { sum: { bits_per_second: 1e9, omitted: true } },
        { sum: { bits_per_second: 5.5e9, omitted: false } },
        { sum: { bits_per_second: 6e9 } },
      ],
    });
    expect(parseIperfIntervals(json)).toEqual([5.5, 6]);
    expect(() => parseIperfIntervals(JSON.stringify({ error: 'unable to connect to server' }))).toThrow(
      /unable to connect/,
    );
  });
});
