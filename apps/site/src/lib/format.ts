import type { StatName } from '@coppice/results-schema';

const NNBSP = '\u202f';

/** Units as a reader expects to see them. */
export function displayUnit(unit: string): string {
  return unit === 'us' ? 'µs' : unit;
}

/** A number shown to about three significant figures, thousands separated by a narrow space (3 906, 14.6, 0.241). */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  let digits: number;
  if (abs >= 100 || Number.isInteger(value)) digits = 0;
  else if (abs >= 10) digits = 1;
  else if (abs >= 1) digits = 2;
  else if (abs === 0) digits = 0;
  else digits = Math.min(6, 2 - Math.floor(Math.log10(abs)));
  const fixed = value.toFixed(digits);
  const [int, frac] = fixed.split('.');
  const sign = int!.startsWith('-') ? '-' : '';
  const grouped = int!.replace('-', '').replace(/\B(?=(\d{3})+(?!\d))/g, NNBSP);
  return sign + grouped + (frac ? `.${frac}` : '');
}

/** A statistic with its unit: "3 906 ms", "7.21 µs"; a count (n) has no unit. */
export function formatStat(value: number, unit: string, stat: StatName): string {
  if (stat === 'n') return formatNumber(value);
  return `${formatNumber(value)}${NNBSP}${displayUnit(unit)}`;
}

export function formatBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  if (gib >= 1) return `${formatNumber(gib)}${NNBSP}GiB`;
  return `${formatNumber(bytes / 1024 ** 2)}${NNBSP}MiB`;
}

export function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? 'no labels' : entries.map(([k, v]) => `${k}=${v}`).join(', ');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}${NNBSP}ms`;
  const s = ms / 1000;
  if (s < 120) return `${formatNumber(s)}${NNBSP}s`;
  return `${formatNumber(s / 60)}${NNBSP}min`;
}

/** A published source named briefly for a table cell: the repository name for GitHub, else the site's host name. */
export function shortSource(reference: { source: string }): string {
  const url = new URL(reference.source);
  if (url.hostname === 'github.com') return url.pathname.split('/').filter(Boolean)[1] ?? url.hostname;
  return url.hostname;
}

/** `data-labels`: the labels as JSON with keys sorted, so the same series has the same attribute on every page. */
export function labelsAttr(labels: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/**
 * A ratio as "1.02×": two decimals (three significant digits from 10 up). Given the target it is judged against,
 * more decimals are shown where two would round it onto the other side of the bound ("1.204×", not "1.20×", for a
 * ratio that misses ≤ 1.2×), so the figure and the verdict never disagree.
 */
export function formatRatio(value: number, target?: { max?: number | undefined; min?: number | undefined }): string {
  if (!Number.isFinite(value)) return `${String(value)}×`;
  const base = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const holds = (v: number) =>
    (target?.max === undefined || v <= target.max) && (target?.min === undefined || v >= target.min);
  let digits = base;
  while (digits < 6 && holds(Number(value.toFixed(digits))) !== holds(value)) digits++;
  const [int, frac] = value.toFixed(digits).split('.');
  const sign = int!.startsWith('-') ? '-' : '';
  return `${sign}${int!.replace('-', '').replace(/\B(?=(\d{3})+(?!\d))/g, NNBSP)}${frac ? `.${frac}` : ''}×`;
}

/**
 * A target as the registry states it: for a ratio "≤ 1.2×", "≥ 0.9×", "0.9–1.2×"; with a series' unit "≤ 25 ms".
 */
export function formatTarget(target: { max?: number | undefined; min?: number | undefined }, unit?: string): string {
  const suffix = unit === undefined ? '×' : `${NNBSP}${displayUnit(unit)}`;
  if (target.max !== undefined && target.min !== undefined) return `${target.min}–${target.max}${suffix}`;
  if (target.max !== undefined) return `≤${NNBSP}${target.max}${suffix}`;
  return `≥${NNBSP}${target.min}${suffix}`;
}
