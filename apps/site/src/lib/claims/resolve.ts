import {
  computeStat,
  type StatName,
  isStatReliable,
  type Cell,
  type CheckCell,
  type HostField,
  type LoadedResult,
  type MeasuredCell,
  type PublishedFigure,
  type RatioCell,
  type PublishedReference,
  type Row,
  type Series,
} from '@coppice/results-schema';
import { newestKey, type SiteData } from '../data/site-data.ts';
import { formatBytes } from '../format.ts';

/** A measured cell resolved to its figure. */
export interface ResolvedValue {
  kind: 'value';
  cell: MeasuredCell;
  value: number;
  unit: string;
  n: number;
  failures: number;
  result: LoadedResult;
  series: Series;
  /** Why the figure should be read with care (e.g. a p99 over fewer than 100 samples). */
  flag?: string;
  /** Whether the cell's target holds; absent when the cell has none. */
  met?: boolean;
}

/** A ratio cell resolved: numerator ÷ denominator, both operands with their provenance. */
export interface ResolvedRatio {
  kind: 'ratio';
  cell: RatioCell;
  value: number;
  numerator: ResolvedValue;
  denominator: ResolvedValue;
  /** Both operands come from one result file (one run). */
  sameFile: boolean;
  /** Whether the cell's target holds; absent when the cell has none. */
  met?: boolean;
}

/** A registry cell resolved against one host's newest result files. */
export type ResolvedCell =
  | ResolvedValue
  | ResolvedRatio
  | { kind: 'dash'; rig: string; reason: string; result?: LoadedResult }
  | { kind: 'not-written'; rig?: string }
  | { kind: 'check'; cell: CheckCell; passed: number; total: number; details: string[]; result: LoadedResult }
  | { kind: 'reference'; reference: PublishedReference; figure: PublishedFigure; path: string }
  | { kind: 'host'; field: HostField; text: string; result: LoadedResult }
  | { kind: 'host-missing'; field: HostField }
  | { kind: 'text'; text: string };

const statCache = new WeakMap<readonly number[], Map<StatName, number>>();

/**
 * `computeStat` of a series' samples, computed once per build: the claims pages of every host, the hosts index
 * and the headline choice all ask for the same cells.
 */
export function statOf(samples: readonly number[], stat: StatName): number {
  let byStat = statCache.get(samples);
  if (!byStat) statCache.set(samples, (byStat = new Map()));
  let value = byStat.get(stat);
  if (value === undefined) byStat.set(stat, (value = computeStat(samples, stat)));
  return value;
}

/** Whether the row's rig is still to be written: planned and without a manifest. */
export function rowNotWritten(data: SiteData, row: Row): boolean {
  if (!row.planned) return false;
  const rigs = new Set<string>();
  if (row.rig) rigs.add(row.rig);
  for (const cell of Object.values(row.cells)) for (const rig of cellRigs(cell)) rigs.add(rig);
  return [...rigs].some((r) => !data.manifestById.has(r));
}

/** The rigs a cell reads from: one for a measured or check cell, the operands' rigs for a ratio. */
export function cellRigs(cell: Cell): string[] {
  switch (cell.kind) {
    case 'measured':
    case 'check':
      return [cell.rig];
    case 'ratio':
      return [...new Set([cell.numerator.rig, cell.denominator.rig])];
    default:
      return [];
  }
}

export function newestFor(data: SiteData, rig: string, host: string | undefined): LoadedResult | undefined {
  return host === undefined ? undefined : data.newest.get(newestKey(rig, host));
}

export function findSeries(result: LoadedResult, metric: string, labels: Record<string, string>): Series | undefined {
  const want = Object.entries(labels);
  return result.data.series.find(
    (s) =>
      s.metric === metric && Object.keys(s.labels).length === want.length && want.every(([k, v]) => s.labels[k] === v),
  );
}

/** The newest result file of any rig on this host (for the Host table). */
export function newestOnHost(data: SiteData, host: string | undefined): LoadedResult | undefined {
  if (host === undefined) return undefined;
  let best: LoadedResult | undefined;
  for (const r of data.newest.values()) {
    if (r.data.host.id !== host) continue;
    if (!best || Date.parse(r.data.run.startedAt) > Date.parse(best.data.run.startedAt)) best = r;
  }
  return best;
}

export function resolveCell(data: SiteData, row: Row, cell: Cell, host: string | undefined): ResolvedCell {
  switch (cell.kind) {
    case 'text':
      return { kind: 'text', text: cell.text };
    case 'reference': {
      const loaded = data.references.get(cell.reference)!;
      const figure = loaded.reference.figures.find((f) => f.id === cell.figure)!;
      return { kind: 'reference', reference: loaded.reference, figure, path: loaded.path };
    }
    case 'host': {
      const result = newestOnHost(data, host);
      if (!result) return { kind: 'host-missing', field: cell.field };
      return { kind: 'host', field: cell.field, text: hostFieldText(result, cell.field), result };
    }
    case 'measured':
      if (rowNotWritten(data, row)) return { kind: 'not-written', rig: cell.rig };
      return resolveMeasured(data, cell, host);
    case 'ratio':
      if (rowNotWritten(data, row))
        return { kind: 'not-written', rig: cellRigs(cell).find((r) => !data.manifestById.has(r)) };
      return resolveRatio(
        cell,
        resolveMeasured(data, cell.numerator, host),
        resolveMeasured(data, cell.denominator, host),
      );
    case 'check': {
      if (rowNotWritten(data, row)) return { kind: 'not-written', rig: cell.rig };
      const result = newestFor(data, cell.rig, host);
      const checks = result?.data.checks?.filter((c) => c.name === cell.check) ?? [];
      if (!result || checks.length === 0) {
        return {
          kind: 'dash',
          rig: cell.rig,
          reason: result ? 'the newest result has no such check' : 'not captured on this host yet',
          result,
        };
      }
      return {
        kind: 'check',
        cell,
        passed: checks.filter((c) => c.ok).length,
        total: checks.length,
        details: checks.map((c) => c.detail),
        result,
      };
    }
  }
}

function resolveMeasured(
  data: SiteData,
  cell: MeasuredCell,
  host: string | undefined,
): ResolvedValue | Extract<ResolvedCell, { kind: 'dash' }> {
  const result = newestFor(data, cell.rig, host);
  if (!result) return { kind: 'dash', rig: cell.rig, reason: 'not captured on this host yet' };
  const series = findSeries(result, cell.metric, cell.labels);
  if (!series) return { kind: 'dash', rig: cell.rig, reason: 'the newest result has no such series', result };
  if (series.samples.length === 0) {
    return { kind: 'dash', rig: cell.rig, reason: `no successful samples (${series.failures.length} failed)`, result };
  }
  const value = statOf(series.samples, cell.stat);
  const n = series.samples.length;
  const flag = isStatReliable(cell.stat, n) ? undefined : `${cell.stat} of only ${n} sample${n === 1 ? '' : 's'}`;
  const met = cell.target ? targetMet(value, cell.target) : undefined;
  return {
    kind: 'value',
    cell,
    value,
    unit: series.unit,
    n,
    failures: series.failures.length,
    result,
    series,
    flag,
    met,
  };
}

/** A measured cell named briefly: "net-rr rtt ipv4 p50". */
export function measuredName(cell: MeasuredCell): string {
  const labels = Object.values(cell.labels);
  return `${cell.rig} ${cell.metric}${labels.length ? ` ${labels.join(' ')}` : ''} ${cell.stat}`;
}

/** How an operand is named in a dash's reason: "denominator (host-limits namespace-rr p50)". */
function operandName(role: 'numerator' | 'denominator', cell: MeasuredCell): string {
  return `${role} (${measuredName(cell)})`;
}

/**
 * numerator ÷ denominator from the operands as resolved. A dash when either operand is one, when their units
 * differ, when the denominator is 0, or when the cell asks for one run and the operands come from two files.
 */
export function resolveRatio(
  cell: RatioCell,
  numerator: ResolvedValue | Extract<ResolvedCell, { kind: 'dash' }>,
  denominator: ResolvedValue | Extract<ResolvedCell, { kind: 'dash' }>,
): ResolvedRatio | Extract<ResolvedCell, { kind: 'dash' }> {
  if (numerator.kind === 'dash')
    return { ...numerator, reason: `${operandName('numerator', cell.numerator)}: ${numerator.reason}` };
  if (denominator.kind === 'dash')
    return { ...denominator, reason: `${operandName('denominator', cell.denominator)}: ${denominator.reason}` };
  const sameFile = numerator.result.path === denominator.result.path;
  if (cell.sameRun && !sameFile) {
    return {
      kind: 'dash',
      rig: cell.numerator.rig,
      reason: `the target compares one run, but the operands come from two result files (${numerator.result.path}, ${denominator.result.path})`,
    };
  }
  if (numerator.unit !== denominator.unit) {
    return {
      kind: 'dash',
      rig: cell.numerator.rig,
      reason: `the operands' units differ (${numerator.unit}, ${denominator.unit})`,
    };
  }
  if (denominator.value === 0) {
    return { kind: 'dash', rig: cell.denominator.rig, reason: `${operandName('denominator', cell.denominator)} is 0` };
  }
  const value = numerator.value / denominator.value;
  return {
    kind: 'ratio',
    cell,
    value,
    numerator,
    denominator,
    sameFile,
    met: cell.target ? targetMet(value, cell.target) : undefined,
  };
}

export function targetMet(value: number, target: { max?: number | undefined; min?: number | undefined }): boolean {
  return (target.max === undefined || value <= target.max) && (target.min === undefined || value >= target.min);
}

export function hostFieldText(result: LoadedResult, field: HostField): string {
  const h = result.data.host;
  switch (field) {
    case 'cpu':
      return h.cpu.model;
    case 'cores':
      return `${h.cpu.cores} cores, ${h.cpu.threads} threads`;
    case 'memory':
      return formatBytes(h.memoryBytes);
    case 'os':
      return h.os;
    case 'kernel':
      return h.kernel;
    case 'platform':
      return h.platform;
    case 'hypervisor':
      return h.backend.hypervisor;
    case 'firewall':
      return h.backend.firewall;
  }
}

/** Cells with a figure from a result file (measured values and checks) for this host: picks the headline host. */
export function capturedCellCount(data: SiteData, host: string): number {
  let count = 0;
  for (const section of data.registry.sections) {
    for (const row of section.rows) {
      for (const cell of Object.values(row.cells)) {
        const r = resolveCell(data, row, cell, host);
        if (r.kind === 'value' || r.kind === 'check' || r.kind === 'ratio') count++;
      }
    }
  }
  return count;
}

const headlineCache = new WeakMap<SiteData, string | undefined>();

/** The registry's headline host if it has captures, otherwise the host with the most captured cells. */
export function headlineHost(data: SiteData): string | undefined {
  if (headlineCache.has(data)) return headlineCache.get(data);
  const host = chooseHeadline(data);
  headlineCache.set(data, host);
  return host;
}

function chooseHeadline(data: SiteData): string | undefined {
  const wanted = data.registry.headlineHost;
  if (wanted && data.hosts.includes(wanted) && capturedCellCount(data, wanted) > 0) return wanted;
  let best: string | undefined;
  let bestCount = -1;
  for (const host of data.hosts) {
    const c = capturedCellCount(data, host);
    if (c > bestCount) [best, bestCount] = [host, c];
  }
  return best;
}
