import { describe, expect, it } from 'vitest';
import type { LoadedResult } from '@coppice/results-schema';
import { refillTimelineChart, refillTimelineOf } from '../src/lib/charts/refill-timeline.ts';

const timeline = {
  config: 'two-tier',
  cc: 3,
  hotSize: 1,
  durableSize: 3,
  refillConcurrency: 2,
  returnedAtMs: 900,
  events: [
    { kind: 'checkout', what: 'hot', startMs: 0, endMs: 40, ok: true },
    { kind: 'checkout', what: 'durable', startMs: 0, endMs: 800, ok: true },
    { kind: 'checkout', what: 'durable', startMs: 0, endMs: 890, ok: true },
    { kind: 'fill', what: 'durable', startMs: 905, endMs: 1200, ok: true },
    { kind: 'fill', what: 'hot', startMs: 1201, endMs: 2100, ok: false },
  ],
};

/** A result file as the loader gives it, with only what the chart reads filled in. */
const resultWith = (params: Record<string, unknown>) =>
  ({ path: 'benchmarks/results/cold-start/h/x.json', size: 1, data: { run: { params } } }) as unknown as LoadedResult;

describe('refill timeline chart', () => {
  it('reads run.params.refillTimeline, and nothing when a result has none', () => {
    expect(refillTimelineOf(resultWith({ refillTimeline: timeline }))).toEqual(timeline);
    expect(refillTimelineOf(resultWith({}))).toBeUndefined();
  });

  it('names the file and the field when the timeline has the wrong shape', () => {
    const bad = { ...timeline, events: [{ ...timeline.events[0], kind: 'refill' }] };
    expect(() => refillTimelineOf(resultWith({ refillTimeline: bad }))).toThrow(
      /benchmarks\/results\/cold-start\/h\/x\.json: run\.params\.refillTimeline/,
    );
  });

  it('draws one bar per event, coloured by what it was, and a rule where the sandboxes were returned', () => {
    const svg = refillTimelineChart(refillTimelineOf(resultWith({ refillTimeline: timeline }))!);
    expect(svg.match(/<rect/g)!.length).toBeGreaterThanOrEqual(timeline.events.length);
    for (const label of ['checkout from hot', 'checkout from durable', 'fill of durable', 'fill of hot (failed)'])
      expect(svg).toContain(label);
  });
});
