import * as Plot from '@observablehq/plot';
import { z } from 'zod';
import type { LoadedResult } from '@coppice/results-schema';
import { document, markup } from './document.ts';

/** run.params.refillTimeline of a cold-start result (packages/rigs/src/rigs/cold-start/refill-timeline.ts). */
const refillTimelineSchema = z.object({
  config: z.string(),
  cc: z.number().int().positive(),
  hotSize: z.number().int().nonnegative(),
  durableSize: z.number().int().nonnegative(),
  refillConcurrency: z.number().int().positive(),
  returnedAtMs: z.number().nonnegative(),
  events: z.array(
    z.object({
      kind: z.enum(['checkout', 'fill']),
      what: z.string(),
      startMs: z.number(),
      endMs: z.number(),
      ok: z.boolean(),
    }),
  ),
});
export type RefillTimeline = z.infer<typeof refillTimelineSchema>;

/** The timeline of a result, undefined when it has none; throws naming the file when it has one of the wrong shape. */
export function refillTimelineOf(result: LoadedResult): RefillTimeline | undefined {
  const raw = (result.data.run.params as Record<string, unknown> | undefined)?.refillTimeline;
  if (raw === undefined) return undefined;
  const parsed = refillTimelineSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${result.path}: run.params.refillTimeline: ${parsed.error.message}`);
  return parsed.data;
}

const COLORS: Record<string, string> = {
  'checkout from hot': '#ff725c',
  'checkout from durable': '#4269d0',
  'checkout from template': '#9c6b4e',
  'fill of hot': '#efb118',
  'fill of durable': '#6cc5b0',
};

/**
 * One row per event, in start order: checkouts first (served by the hot tier, the durable tier, or the template),
 * then the fills the returns set off; each a bar from start to end, in seconds from the round's start.
 */
export function refillTimelineChart(t: RefillTimeline): string {
  const rows = [...t.events]
    .sort((a, b) => (a.kind === b.kind ? a.startMs - b.startMs : a.kind === 'checkout' ? -1 : 1))
    .map((e, i) => ({
      ...e,
      row: i,
      start: e.startMs / 1000,
      end: Math.max(e.endMs, e.startMs + 1) / 1000,
      label: `${e.kind === 'checkout' ? 'checkout from' : 'fill of'} ${e.what}${e.ok ? '' : ' (failed)'}`,
    }));
  const keys = [...new Set(rows.map((r) => r.label))];
  const plot = Plot.plot({
    document: document as unknown as Document,
    width: 720,
    height: Math.max(160, 40 + rows.length * 4),
    marginLeft: 40,
    style: { fontSize: '12px', background: 'transparent' },
    x: { label: "s from the round's start →", grid: true },
    y: { axis: null, reverse: true },
    color: { domain: keys, range: keys.map((k) => COLORS[k] ?? '#9498a0'), legend: true },
    marks: [
      Plot.ruleX([t.returnedAtMs / 1000], { stroke: '#8a93a3', strokeDasharray: '4 3' }),
      Plot.barX(rows, { x1: 'start', x2: 'end', y: 'row', fill: 'label', insetTop: 0.5, insetBottom: 0.5 }),
    ],
  });
  return markup(plot);
}
