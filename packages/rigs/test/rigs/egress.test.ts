import { describe, expect, it } from 'vitest';
import { abbaOrder } from '../../src/lib/measure/abba-order.ts';
import { EDGE_NETS } from '../../src/lib/net/edge-cubenet.ts';
import { parseRouteGet } from '../../src/lib/net/external-peer-linux.ts';
import { peerNames } from '../../src/lib/net/peer-link.ts';

describe('egress plumbing', () => {
  it('alternates paths A B B A so drift weighs on both', () => {
    expect(abbaOrder(['nat', 'direct'], 1)).toEqual(['nat', 'direct']);
    expect(abbaOrder(['nat', 'direct'], 2)).toEqual(['nat', 'direct', 'direct', 'nat']);
    expect(abbaOrder(['a', 'b'], 3)).toEqual(['a', 'b', 'b', 'a', 'a', 'b']);
    expect(() => abbaOrder(['a', 'b'], 0)).toThrow(/positive/);
  });

  it('reads the outgoing device of `ip -j route get` and treats unreachable as none', () => {
    expect(
      parseRouteGet('[{"dst":"10.95.2.2","dev":"cgxe-h","prefsrc":"10.95.2.1","flags":[],"uid":0,"cache":[]}]'),
    ).toBe('cgxe-h');
    expect(parseRouteGet('[{"type":"unreachable","dst":"10.95.2.2","flags":[],"uid":0,"cache":[]}]')).toBeUndefined();
    expect(parseRouteGet('[]')).toBeUndefined();
  });

  it('keeps every rig in its own prefix, subnet and object names, clear of cubenet endpoint names', () => {
    const nets = Object.values(EDGE_NETS);
    expect(new Set(nets.map((n) => n.prefix)).size).toBe(nets.length);
    expect(new Set(nets.map((n) => n.ipv4Subnet)).size).toBe(nets.length);
    for (const n of nets) {
      // cubenet's reconcile owns every "<prefix>-…" name; the rig's own objects must never look like one.
      for (const name of Object.values(peerNames(n.own))) {
        expect(name.length).toBeLessThanOrEqual(15);
        for (const m of nets) expect(name.startsWith(`${m.prefix}-`)).toBe(false);
      }
      expect(['cnr', 'cpc', 'cpt', 'cpk']).not.toContain(n.prefix);
    }
  });
});
