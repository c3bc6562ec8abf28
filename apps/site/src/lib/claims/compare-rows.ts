import { compare, type Comparison, type LoadedResult, type MeasuredCell } from '@coppice/results-schema';
import type { SiteData } from '../data/site-data.ts';
import { findSeries, newestFor, rowNotWritten, statOf } from './resolve.ts';

export interface Side {
  result: LoadedResult;
  value: number;
  unit: string;
  samples: readonly number[];
}

export interface CompareRow {
  section: string;
  sectionTitle: string;
  row: string;
  label: string;
  column: string;
  cell: MeasuredCell;
  a?: Side;
  b?: Side;
  comparison?: Comparison;
}

function side(data: SiteData, cell: MeasuredCell, host: string): Side | undefined {
  const result = newestFor(data, cell.rig, host);
  const series = result && findSeries(result, cell.metric, cell.labels);
  if (!result || !series || series.samples.length === 0) return undefined;
  return { result, value: statOf(series.samples, cell.stat), unit: series.unit, samples: series.samples };
}

const comparisons = new WeakMap<readonly number[], WeakMap<readonly number[], Comparison>>();

/** `compare` of two series, once per pair: a row's cells often share their series (mean, p50 and p99 of one). */
function compareOnce(a: readonly number[], b: readonly number[]): Comparison {
  let byB = comparisons.get(a);
  if (!byB) comparisons.set(a, (byB = new WeakMap()));
  let c = byB.get(b);
  if (!c) byB.set(b, (c = compare(a, b)));
  return c;
}

/** Every measured cell of the registry for two hosts, with the ratio of medians and Mann–Whitney p when both have samples. */
export function compareRows(data: SiteData, hostA: string, hostB: string): CompareRow[] {
  const rows: CompareRow[] = [];
  for (const section of data.registry.sections) {
    for (const row of section.rows) {
      if (rowNotWritten(data, row)) continue;
      for (const column of section.columns) {
        const cell = row.cells[column.id];
        if (cell?.kind !== 'measured') continue;
        const a = side(data, cell, hostA);
        const b = side(data, cell, hostB);
        rows.push({
          section: section.id,
          sectionTitle: section.title,
          row: row.id,
          label: row.label,
          column: column.header,
          cell,
          a,
          b,
          comparison: a && b ? compareOnce(a.samples, b.samples) : undefined,
        });
      }
    }
  }
  return rows;
}
