import { compare, computeStat, type Comparison, type LoadedResult, type MeasuredCell } from '@coppice/results-schema';
import type { SiteData } from '../data/site-data.ts';
import { findSeries, newestFor, rowNotWritten } from './resolve.ts';

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
  return { result, value: computeStat(series.samples, cell.stat), unit: series.unit, samples: series.samples };
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
          comparison: a && b ? compare(a.samples, b.samples) : undefined,
        });
      }
    }
  }
  return rows;
}
