import { describe, expect, it } from 'vitest';
import { ProcessRunner } from '@coppice/runtime';
import { ChildProcesses } from '../../src/harness/child-processes.ts';
import { Progress } from '../../src/harness/progress.ts';
import { HarnessContext } from '../../src/harness/rig-context-impl.ts';
import { defineManifest } from '../../src/harness/define-manifest.ts';
import { captureStream, fakeHost, repoRoot, tempDir } from './helpers.ts';

const manifest = defineManifest({
  id: 'ctx-test',
  title: 't',
  summary: 's',
  script: 'packages/rigs/test/harness/context.test.ts',
  platforms: ['linux'],
  requirements: {},
  metrics: [
    { name: 'lat', unit: 'ms', description: 'd', labels: {} },
    { name: 'ready', unit: 'ms', description: 'd', labels: { cc: ['1', '10'], config: ['full'] } },
  ],
  checks: ['no-leaks'],
  clock: 'c',
  reproduce: 'r',
  samples: { full: 200, quick: 5 },
});

function context(signal = new AbortController().signal) {
  return new HarnessContext({
    manifest,
    quick: false,
    runner: new ProcessRunner(),
    host: fakeHost,
    progress: new Progress(captureStream(), { mode: 'plain' }),
    children: new ChildProcesses(),
    signal,
    tmpdir: tempDir('ctx'),
    repoRoot,
  });
}

describe('HarnessContext', () => {
  it('exposes the sample count of the mode', () => {
    expect(context().samples).toBe(200);
  });

  it('checks metric names, label keys and label values against the manifest', () => {
    const ctx = context();
    expect(() => ctx.series('nope')).toThrow('rig ctx-test has no metric "nope" in its manifest (known: lat, ready)');
    expect(() => ctx.series('ready', { cc: '1' })).toThrow('metric ready takes labels {cc, config}, got {cc}');
    expect(() => ctx.series('ready', { cc: '7', config: 'full' })).toThrow('label cc="7" is not one of 1, 10');
    expect(() => ctx.series('lat', { cc: '1' })).toThrow('metric lat takes labels {}, got {cc}');
    // the same metric and labels (in any key order) is the same series
    const a = ctx.series('ready', { cc: '10', config: 'full' });
    expect(ctx.series('ready', { config: 'full', cc: '10' })).toBe(a);
  });

  it('rejects non-finite samples, and checks that the manifest does not declare', () => {
    const ctx = context();
    expect(() => ctx.series('lat').add(Number.NaN)).toThrow('lat: sample NaN is not a finite number');
    expect(() => ctx.check('leaks', true, '')).toThrow('rig ctx-test has no check "leaks" in its manifest');
    ctx.check('no-leaks', true, '0 of 3 leaked');
    expect(ctx.checks).toEqual([{ name: 'no-leaks', ok: true, detail: '0 of 3 leaked' }]);
  });

  it('repeat: discards warm-up runs (and their failures), records failures at their attempt index', async () => {
    const ctx = context();
    const series = ctx.series('lat');
    const seen: number[] = [];
    await ctx.repeat({ phase: 'p', warmup: 2, count: 4, series }, async (i) => {
      seen.push(i);
      if (seen.length === 1) throw new Error('warm-up failure is not recorded');
      if (seen.length === 4) throw new Error('attempt 1 failed');
      return i * 10;
    });
    expect(seen).toEqual([0, 1, 0, 1, 2, 3]);
    const [s] = ctx.seriesSet.toSeries();
    expect(s!.samples).toEqual([0, 20, 30]);
    expect(s!.failures).toEqual([{ index: 1, error: 'attempt 1 failed' }]);
  });

  it('repeat stops with the abort reason once the run is interrupted', async () => {
    const controller = new AbortController();
    const ctx = context(controller.signal);
    let calls = 0;
    const run = ctx.repeat({ phase: 'p', warmup: 0, count: 100, series: ctx.series('lat') }, async () => {
      if (++calls === 3) controller.abort(new Error('received SIGINT'));
      return 1;
    });
    await expect(run).rejects.toThrow('received SIGINT');
    expect(calls).toBe(3);
  });

  it('concurrent: all cc calls start before any of them settles', async () => {
    const ctx = context();
    let started = 0;
    const startedWhenFirstSettled: number[] = [];
    await ctx.concurrent(
      { phase: 'cc', cc: 10, series: ctx.series('ready', { cc: '10', config: 'full' }) },
      async () => {
        started++;
        await Promise.resolve();
        startedWhenFirstSettled.push(started);
        return started;
      },
    );
    expect(startedWhenFirstSettled.every((n) => n === 10)).toBe(true);
    expect(ctx.seriesSet.toSeries()[0]!.samples).toHaveLength(10);
    await expect(ctx.concurrent({ phase: 'cc', cc: 0, series: ctx.series('lat') }, async () => 1)).rejects.toThrow(
      'cc must be a positive integer',
    );
  });

  it('param: recorded in params; quick and subsampled are reserved for the harness', () => {
    const ctx = context();
    expect(ctx.param('streams', 16)).toBe(16);
    expect(ctx.params).toEqual({ quick: false, streams: 16 });
    expect(() => ctx.param('quick', true)).toThrow('run parameter "quick" is set by the harness');
  });

  it('runDeferred runs every cleanup, last first, and reports the ones that failed', async () => {
    const ctx = context();
    const order: string[] = [];
    ctx.defer(() => void order.push('a'));
    ctx.defer(() => {
      order.push('b');
      throw new Error('b failed');
    });
    ctx.defer(async () => void order.push('c'));
    expect(await ctx.runDeferred()).toEqual(['b failed']);
    expect(order).toEqual(['c', 'b', 'a']);
  });
});
