import { describe, expect, it } from 'vitest';
import { parsePolicy } from '@coppice/runtime/net';
import { createFreeBsdHost } from '../../../runtime/test/freebsd-host/index.ts';
import { LINUX_BRIDGE_MAX_PORTS, sandboxLimitReasons } from '../../src/rigs/policy-churn/limits.ts';
import { churnPolicy, POLICY_SHAPE } from '../../src/rigs/policy-churn/policies.ts';
import { coprimeStride, PLAN } from '../../src/rigs/policy-churn/rig.ts';
import { policyChurnManifest } from '../../src/rigs/policy-churn/manifest.ts';

describe('policy-churn policies', () => {
  it('are valid cubenet policies of a fixed shape, each different from the one before', () => {
    for (let k = 0; k < 200; k++) {
      const p = churnPolicy(k);
      expect(() => parsePolicy(p)).not.toThrow(); // cubenet's own validation
      expect(p.allowOut).toHaveLength(POLICY_SHAPE.allowOut);
      expect(p.denyOut).toHaveLength(POLICY_SHAPE.denyOut);
      expect(p.dnsAllow).toHaveLength(POLICY_SHAPE.dnsAllow);
      expect(new Set(p.allowOut).size).toBe(p.allowOut.length);
      if (k > 0) expect(p).not.toEqual(churnPolicy(k - 1));
    }
    expect(() => churnPolicy(-1)).toThrow(/non-negative/);
  });
});

describe('policy-churn load spreading', () => {
  it('visits every resident sandbox before repeating one', () => {
    for (const n of [1, 10, 100, 1000, 999]) {
      const s = coprimeStride(n);
      const seen = new Set(Array.from({ length: n }, (_, j) => (j * s) % n));
      expect(seen.size).toBe(n);
    }
  });

  it("plans the levels the manifest declares, with the most samples within the manifest's counts", () => {
    expect(PLAN.full.map((l) => String(l.n))).toEqual(policyChurnManifest.metrics[0]!.labels.n);
    expect(Math.max(...PLAN.full.map((l) => l.loads))).toBe(policyChurnManifest.samples.full);
    expect(Math.max(...PLAN.quick.map((l) => l.loads))).toBe(policyChurnManifest.samples.quick);
  });
});

describe('policy-churn kernel limits', () => {
  const never = { run: () => Promise.reject(new Error('no command expected on Linux')) };

  it('on Linux: the bridge port limit, not nftables, bounds N', async () => {
    expect(await sandboxLimitReasons('linux', never, 1000, 1021)).toEqual([]);
    expect(await sandboxLimitReasons('linux', never, LINUX_BRIDGE_MAX_PORTS + 1, 4000)).toEqual([
      `a Linux bridge holds at most ${LINUX_BRIDGE_MAX_PORTS} ports, and 1024 sandboxes need 1024`,
    ]);
    expect(await sandboxLimitReasons('linux', never, 1000, 253)).toEqual([
      "the rig's subnet holds 253 sandboxes, fewer than 1000",
    ]);
  });

  it("on FreeBSD: pf's default `set limit anchors 512` is too low for 1 000 sandboxes; 4096 is enough", async () => {
    const low = await sandboxLimitReasons('freebsd', createFreeBsdHost(), 1000, 1021);
    expect(low.join('\n')).toMatch(/pf allows 512 anchors but 1000 sandboxes need 1001: add `set limit anchors 1024`/);
    expect(await sandboxLimitReasons('freebsd', createFreeBsdHost({ anchorLimit: 4096 }), 1000, 1021)).toEqual([]);
  });
});
