import * as Plot from '@observablehq/plot';
import { evenSubsampleIndices, type Series } from '@coppice/results-schema';
import { displayUnit, formatLabels } from '../format.ts';
import { document, markup } from './document.ts';

/** Points drawn per series at most: beyond this the line passes through evenly spaced ranks (first and last kept). */
export const ECDF_MAX_POINTS = 250;

export interface EcdfChart {
  svg: string;
  /** True when some series had more samples than ECDF_MAX_POINTS and its line was drawn through ranks. */
  thinned: boolean;
  /** Series name → stroke colour, for a legend written as plain HTML (cheaper than Plot's own legend). */
  legend: { name: string; color: string }[];
}

/** Colours for up to 16 series (Observable's categorical scheme, repeated). */
const SCHEME = [
  '#4269d0',
  '#efb118',
  '#ff725c',
  '#6cc5b0',
  '#3ca951',
  '#ff8ab7',
  '#a463f2',
  '#97bbf5',
  '#9c6b4e',
  '#9498a0',
];

/**
 * The empirical distribution of every series of one metric: for each sample value x, the share of samples ≤ x,
 * one step line per label set. Log x when the samples span more than a factor of 20.
 */
export function ecdfChart(
  metric: string,
  series: readonly Series[],
  /** Each series' samples already sorted ascending, when the caller has them (saves a sort per series). */
  sortedOf: (s: Series) => readonly number[] = (s) => [...s.samples].sort((a, b) => a - b),
): EcdfChart | undefined {
  const points: { series: string; x: number; p: number }[] = [];
  const names: string[] = [];
  let min = Infinity;
  let max = -Infinity;
  let thinned = false;
  for (const s of series) {
    if (s.samples.length === 0) continue;
    const name = formatLabels(s.labels);
    names.push(name);
    const sorted = sortedOf(s);
    if (sorted.length > ECDF_MAX_POINTS) thinned = true;
    for (const i of evenSubsampleIndices(sorted.length, ECDF_MAX_POINTS))
      points.push({ series: name, x: sorted[i]!, p: (i + 1) / sorted.length });
    min = Math.min(min, sorted[0]!);
    max = Math.max(max, sorted[sorted.length - 1]!);
  }
  if (points.length === 0) return undefined;
  const log = min > 0 && max / min > 20;
  const unit = displayUnit(series[0]!.unit);
  const legend = names.map((name, i) => ({ name, color: SCHEME[i % SCHEME.length]! }));
  const plot = Plot.plot({
    document: document as unknown as Document,
    width: 720,
    height: 240,
    marginLeft: 48,
    // Few ticks and no x grid: one of these per metric of every result file, so it must be cheap to draw.
    x: { type: log ? 'log' : 'linear', label: `${metric} (${unit})${log ? ', log scale' : ''} →`, ticks: 6 },
    y: { domain: [0, 1], label: '↑ share of samples ≤ x', grid: true, ticks: 5 },
    color: { domain: names, range: legend.map((l) => l.color) },
    marks: [
      Plot.line(points, { x: 'x', y: 'p', z: 'series', stroke: 'series', curve: 'step-after', strokeWidth: 1.5 }),
    ],
  });
  return { svg: markup(plot), thinned, legend: names.length > 1 ? legend : [] };
}
