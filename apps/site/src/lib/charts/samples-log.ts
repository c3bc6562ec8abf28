import * as Plot from '@observablehq/plot';
import { computeStat, type Chart, type LoadedResult } from '@coppice/results-schema';
import { displayUnit, formatStat } from '../format.ts';
import { findSeries } from '../claims/resolve.ts';
import { document, markup } from './document.ts';

export interface SamplesChart {
  svg: string;
  result: LoadedResult;
  /** The values of `by` that had samples, in registry order. */
  shown: string[];
}

/**
 * Every sample of (metric, labels + {by: value}) for each value, as ticks on a log-scale axis, with the chart's
 * statistic marked: the spread behind the table's single number. Undefined when no value has samples.
 */
export function samplesLogChart(chart: Chart, result: LoadedResult | undefined): SamplesChart | undefined {
  if (!result) return undefined;
  const points: { by: string; v: number }[] = [];
  const marks: { by: string; v: number; label: string }[] = [];
  const shown: string[] = [];
  let unit = '';
  for (const value of chart.values) {
    const series = findSeries(result, chart.metric, { ...chart.labels, [chart.by]: value });
    const samples = series?.samples.filter((s) => s > 0) ?? [];
    if (!series || samples.length === 0) continue;
    unit = series.unit;
    shown.push(value);
    for (const v of samples) points.push({ by: value, v });
    const stat = computeStat(series.samples, chart.stat);
    marks.push({ by: value, v: stat, label: `${chart.stat} ${formatStat(stat, series.unit, chart.stat)}` });
  }
  if (shown.length === 0) return undefined;
  const svg = Plot.plot({
    document: document as unknown as Document,
    width: 720,
    height: 56 + 44 * shown.length,
    marginLeft: 80,
    marginRight: 130,
    style: { fontSize: '12px', background: 'transparent' },
    x: { type: 'log', label: `${chart.metric} (${displayUnit(unit)}), log scale →`, grid: true },
    y: { domain: shown, label: null },
    marks: [
      Plot.tickX(points, { x: 'v', y: 'by', stroke: '#3b6ea8', strokeOpacity: 0.35 }),
      Plot.tickX(marks, { x: 'v', y: 'by', stroke: '#c2410c', strokeWidth: 3 }),
      Plot.text(marks, { x: 'v', y: 'by', text: 'label', dx: 8, dy: -12, textAnchor: 'start', fill: '#c2410c' }),
    ],
  });
  return { svg: markup(svg), result, shown };
}
