import * as Plot from '@observablehq/plot';
import type { Series } from '@coppice/results-schema';
import { displayUnit, formatLabels } from '../format.ts';
import { document, markup } from './document.ts';

/**
 * The empirical distribution of every series of one metric: for each sample value x, the share of samples ≤ x,
 * one step line per label set. Log x when the samples span more than a factor of 20.
 */
export function ecdfChart(metric: string, series: readonly Series[]): string | undefined {
  const points: { series: string; x: number; p: number }[] = [];
  let min = Infinity;
  let max = -Infinity;
  for (const s of series) {
    if (s.samples.length === 0) continue;
    const name = formatLabels(s.labels);
    const sorted = [...s.samples].sort((a, b) => a - b);
    sorted.forEach((x, i) => points.push({ series: name, x, p: (i + 1) / sorted.length }));
    min = Math.min(min, sorted[0]!);
    max = Math.max(max, sorted[sorted.length - 1]!);
  }
  if (points.length === 0) return undefined;
  const log = min > 0 && max / min > 20;
  const unit = displayUnit(series[0]!.unit);
  const many = new Set(points.map((p) => p.series)).size > 1;
  const plot = Plot.plot({
    document: document as unknown as Document,
    width: 720,
    height: 260,
    marginLeft: 48,
    style: { fontSize: '12px', background: 'transparent' },
    x: { type: log ? 'log' : 'linear', label: `${metric} (${unit})${log ? ', log scale' : ''} →`, grid: true },
    y: { domain: [0, 1], label: '↑ share of samples ≤ x', grid: true },
    color: many ? { legend: true, type: 'categorical' } : undefined,
    marks: [
      Plot.line(points, { x: 'x', y: 'p', z: 'series', stroke: many ? 'series' : '#3b6ea8', curve: 'step-after', strokeWidth: 1.5 }),
      Plot.ruleY([0]),
    ],
  });
  return markup(plot);
}
