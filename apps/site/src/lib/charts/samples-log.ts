import * as Plot from '@observablehq/plot';
import { computeStat, quantile, type Chart, type LoadedResult } from '@coppice/results-schema';
import { displayUnit, formatStat } from '../format.ts';
import { findSeries, statOf } from '../claims/resolve.ts';
import { document, markup } from './document.ts';

export interface SamplesChart {
  svg: string;
  result: LoadedResult;
  /** The values of `by` that had samples, in registry order. */
  shown: string[];
}

interface Row {
  by: string;
  min: number;
  q1: number;
  q3: number;
  max: number;
  stat: number;
  label: string;
}

/**
 * The spread behind the table's single number, one row per value of `by`, on a log-scale axis: a thin line from
 * the smallest to the largest sample, a bar over the middle half (R-7 quartiles), and a dot at the chart's
 * statistic with its value. Undefined when no value has samples.
 */
export function samplesLogChart(chart: Chart, result: LoadedResult | undefined): SamplesChart | undefined {
  if (!result) return undefined;
  const rows: Row[] = [];
  let unit = '';
  for (const value of chart.values) {
    const series = findSeries(result, chart.metric, { ...chart.labels, [chart.by]: value });
    const samples = series?.samples.filter((s) => s > 0) ?? [];
    if (!series || samples.length === 0) continue;
    unit = series.unit;
    const stat = statOf(series.samples, chart.stat);
    rows.push({
      by: value,
      min: computeStat(samples, 'min'),
      q1: quantile(samples, 0.25),
      q3: quantile(samples, 0.75),
      max: computeStat(samples, 'max'),
      stat,
      label: `${chart.stat} ${formatStat(stat, series.unit, chart.stat)}`,
    });
  }
  if (rows.length === 0) return undefined;
  const svg = Plot.plot({
    document: document as unknown as Document,
    width: 720,
    height: 40 + 38 * rows.length,
    marginLeft: 80,
    marginRight: 150,
    style: { fontSize: '12px', background: 'transparent' },
    x: { type: 'log', label: `${chart.metric} (${displayUnit(unit)}), log scale →`, grid: true },
    y: { domain: rows.map((r) => r.by), label: null, padding: 0.35 },
    marks: [
      Plot.ruleY(rows, { y: 'by', x1: 'min', x2: 'max', stroke: '#8a93a3' }),
      Plot.barX(rows, { y: 'by', x1: 'q1', x2: 'q3', fill: '#3b6ea8', fillOpacity: 0.35 }),
      Plot.dot(rows, { x: 'stat', y: 'by', fill: '#c2410c', r: 4 }),
      Plot.text(rows, { x: 'max', y: 'by', text: 'label', dx: 8, textAnchor: 'start', fill: '#c2410c' }),
    ],
  });
  return { svg: markup(svg), result, shown: rows.map((r) => r.by) };
}
