import { describe, expect, it } from 'vitest';
import { coldStartManifest } from '../../src/rigs/cold-start/manifest.ts';
import { densityManifest } from '../../src/rigs/density/manifest.ts';
import { poolRefillManifest } from '../../src/rigs/pool-refill/manifest.ts';
import { manifestById } from '../../src/manifests.ts';

// The claims registry names these ids, metrics, units and label values (the metric naming contract): a rename
// here would silently empty the cold-start, density and refill rows, so they are pinned exactly.
describe('pool rig manifests match the metric contract', () => {
  it('cold-start: ready-latency in ms by config and cc', () => {
    const m = coldStartManifest.metrics.find((x) => x.name === 'ready-latency')!;
    expect(m.unit).toBe('ms');
    expect(m.labels).toEqual({ config: ['full', 'prewarm', 'durable', 'two-tier'], cc: ['1', '10', '20', '50'] });
    // The floors the targets compare to are recorded in the same run.
    expect(coldStartManifest.metrics.map((x) => x.name)).toEqual(['ready-latency', 'floor-sigcont-probe', 'floor-restore-probe']);
  });

  it('density: host-delta, per-vm and the per-VM parts in MiB by n and sharing; the controller by n and loader', () => {
    const parts = ['vm-guest-dirtied', 'vm-template-share', 'vm-tcg-cache', 'vm-heap', 'vm-other', 'vm-page-tables'];
    for (const name of ['host-delta', 'per-vm', 'pss-per-vm', ...parts]) {
      const m = densityManifest.metrics.find((x) => x.name === name)!;
      expect(m.unit).toBe('MiB');
      expect(m.labels).toEqual({ n: ['8', '50', '200', '400', '1000'], sharing: ['template', 'none'] });
    }
    for (const name of ['controller-rss', 'controller-hwm', 'controller-pss']) {
      const m = densityManifest.metrics.find((x) => x.name === name)!;
      expect(m.unit).toBe('MiB');
      expect(m.labels).toEqual({ n: ['0', '8', '50', '200', '400', '1000'], loader: ['bundled', 'tsx'] });
    }
  });

  it('pool-refill: refill in ms by tier', () => {
    expect(poolRefillManifest.metrics).toHaveLength(1);
    expect(poolRefillManifest.metrics[0]).toMatchObject({ name: 'refill', unit: 'ms', labels: { tier: ['durable', 'hot'] } });
  });

  it('are registered and point at their own scripts', () => {
    for (const m of [coldStartManifest, densityManifest, poolRefillManifest]) {
      expect(manifestById(m.id)).toBe(m);
      expect(m.script).toBe(`packages/rigs/src/rigs/${m.id}/rig.ts`);
      expect(m.reproduce).toBe(`node packages/rigs/bin/coppice-rigs.js run ${m.id}`);
    }
  });
});
