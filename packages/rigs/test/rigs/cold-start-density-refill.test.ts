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
    expect(coldStartManifest.metrics.map((x) => x.name)).toEqual([
      'ready-latency',
      'floor-sigcont-probe',
      'floor-restore-probe',
      'floor-sigcont-probe-cc',
      'floor-restore-probe-cc',
      'agent-ready-latency',
      'floor-sigcont-health',
    ]);
    // The Debian templates: series of their own, so the busybox series above keep their labels.
    expect(coldStartManifest.metrics.find((x) => x.name === 'agent-ready-latency')).toMatchObject({
      unit: 'ms',
      labels: {
        template: ['base', 'code-interpreter-v1'],
        config: ['prewarm', 'durable', 'two-tier'],
        cc: ['1', '10'],
      },
    });
    expect(coldStartManifest.metrics.find((x) => x.name === 'floor-sigcont-health')).toMatchObject({
      unit: 'ms',
      labels: { template: ['base', 'code-interpreter-v1'] },
    });
    // The floors at each cc above 1 (at 1 the single floors are the cc floors).
    for (const name of ['floor-sigcont-probe-cc', 'floor-restore-probe-cc']) {
      expect(coldStartManifest.metrics.find((x) => x.name === name)).toMatchObject({
        unit: 'ms',
        labels: { cc: ['10', '20', '50'] },
      });
    }
  });

  it('density: host-delta, per-vm and the per-VM parts in MiB by n and sharing; the controller by n and loader', () => {
    const parts = ['vm-guest-dirtied', 'vm-template-share', 'vm-tcg-cache', 'vm-heap', 'vm-other', 'vm-page-tables'];
    for (const name of ['host-delta', 'per-vm', 'pss-per-vm', ...parts]) {
      const m = densityManifest.metrics.find((x) => x.name === name)!;
      expect(m.unit).toBe('MiB');
      expect(m.labels).toEqual({ n: ['8', '50', '200', '400', '1000'], sharing: ['template', 'none'] });
    }
    for (const name of ['restore-seconds-per-vm', 'single-restore-seconds'])
      expect(densityManifest.metrics.find((x) => x.name === name)?.unit).toBe('s');
    for (const name of [
      'lever-pss-per-vm',
      'lever-heap',
      'lever-tcg-cache',
      'lever-guest-dirtied',
      'lever-other',
      'lever-page-tables',
    ]) {
      expect(densityManifest.metrics.find((x) => x.name === name)).toMatchObject({
        unit: 'MiB',
        labels: { lever: ['none', 'arena-1', 'malloc-trim', 'tcg-single', 'tb-2', 'ksm', 'runtime'] },
      });
    }
    for (const name of ['controller-rss', 'controller-hwm', 'controller-pss']) {
      const m = densityManifest.metrics.find((x) => x.name === name)!;
      expect(m.unit).toBe('MiB');
      expect(m.labels).toEqual({ n: ['0', '8', '50', '200', '400', '1000'], loader: ['bundled', 'tsx'] });
    }
  });

  it('density: the code-interpreter template per VM in MiB by template and n', () => {
    for (const name of ['template-per-vm', 'template-pss-per-vm']) {
      expect(densityManifest.metrics.find((x) => x.name === name)).toMatchObject({
        unit: 'MiB',
        labels: { template: ['code-interpreter-v1'], n: ['8', '50'] },
      });
    }
  });

  it('guest-exec: host round trips by op, in-guest floors by op, and the runCode floor, in ms', () => {
    const m = manifestById('guest-exec')!;
    expect(m.metrics.map((x) => [x.name, x.unit, x.labels])).toEqual([
      ['round-trip', 'ms', { op: ['run-code', 'commands-run', 'file-write', 'file-read', 'health'] }],
      ['in-guest', 'ms', { op: ['execute', 'spawn'] }],
      ['run-code-floor', 'ms', {}],
    ]);
  });

  it('pool-refill: refill in ms by tier', () => {
    expect(poolRefillManifest.metrics).toHaveLength(1);
    expect(poolRefillManifest.metrics[0]).toMatchObject({
      name: 'refill',
      unit: 'ms',
      labels: { tier: ['durable', 'hot'] },
    });
  });

  it('are registered and point at their own scripts', () => {
    for (const m of [coldStartManifest, densityManifest, poolRefillManifest]) {
      expect(manifestById(m.id)).toBe(m);
      expect(m.script).toBe(`packages/rigs/src/rigs/${m.id}/rig.ts`);
      expect(m.reproduce).toBe(`node packages/rigs/bin/coppice-rigs.js run ${m.id}`);
    }
  });
});

describe('cold-start refill timeline recorder', () => {
  it('keeps events only while recording, in ms from the round start', async () => {
    const { TimelineRecorder } = await import('../../src/rigs/cold-start/refill-timeline.ts');
    const r = new TimelineRecorder();
    r.add('fill', 'hot', 0, 1);
    expect(r.events).toEqual([]);
    r.start();
    const t0 = performance.now();
    r.add('checkout', 'durable', t0, t0 + 250);
    r.add('fill', 'hot', t0 + 300, t0 + 700, false);
    r.stop();
    r.add('fill', 'durable', t0, t0 + 1);
    expect(r.events).toHaveLength(2);
    expect(r.events[0]).toMatchObject({ kind: 'checkout', what: 'durable', ok: true });
    expect(r.events[0]!.endMs - r.events[0]!.startMs).toBeCloseTo(250, 0);
    expect(r.events[1]).toMatchObject({ kind: 'fill', what: 'hot', ok: false });
    expect(r.events[1]!.startMs).toBeGreaterThanOrEqual(300);
  });
});
