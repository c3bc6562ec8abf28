import { placeholderPattern } from '@coppice/results-schema';

/**
 * Finds measured-looking figures typed by hand into prose: a number followed by a unit of time, size, rate or a
 * percentage ("4.2 ms", "~25 MB", "14.6 Gbit/s", "84%", "10×"). Placeholders are removed first: a figure must come
 * from `{cell:...}` (a result) or be declared a given with `{given:...}` (a configuration value, not a measurement).
 */
const UNITS = [
  'ns',
  'µs',
  'μs',
  'us',
  'ms',
  's',
  'sec',
  'secs',
  'seconds?',
  'milliseconds?',
  'microseconds?',
  'nanoseconds?',
  'minutes?',
  'min',
  'B',
  'bytes?',
  'KiB',
  'MiB',
  'GiB',
  'TiB',
  'kB',
  'KB',
  'MB',
  'GB',
  'TB',
  'bit/s',
  'kbit/s',
  'Kbit/s',
  'Mbit/s',
  'Gbit/s',
  'Tbit/s',
  'bps',
  'Kbps',
  'kbps',
  'Mbps',
  'Gbps',
  'ops/s',
  'ops/sec',
  '/s',
  'Hz',
  'kHz',
  'MHz',
  'GHz',
];
const NUMBER = String.raw`[~≈<>≤≥]?\s?\d+(?:[.,]\d+)*(?:[\s\u00a0\u202f\u2009]\d{3})*(?:\s?[–-]\s?\d+(?:[.,]\d+)*)?`;
const UNIT_RE = `(?:${UNITS.join('|')})(?![\\p{L}\\p{N}_])`;
const FIGURE = new RegExp(
  String.raw`(?<![\p{L}\p{N}_.=/-])${NUMBER}(?:[\s\u00a0\u202f\u2009]?${UNIT_RE}|\s?%|[×x](?![\p{L}\p{N}]))`,
  'gu',
);

export function stripPlaceholders(text: string): string {
  return text.replace(new RegExp(placeholderPattern.source, 'g'), ' ');
}

/** The hand-typed figures in `text` (after removing placeholders), as they appear. */
export function findTypedFigures(text: string): string[] {
  return [...stripPlaceholders(text).matchAll(FIGURE)].map((m) => m[0].trim());
}

/**
 * The text a reader sees from an .astro source: frontmatter, <style>, <script>, {expressions} and tags (with their
 * attributes) removed. Numbers left in it were typed by hand.
 */
export function astroVisibleText(source: string): string {
  let text = source.replace(/^---\n[\s\S]*?\n---\n/, '');
  text = text.replace(/<(style|script)\b[\s\S]*?<\/\1>/g, ' ');
  text = text.replace(/<!--[\s\S]*?-->/g, ' ');
  text = removeBraced(text);
  text = text.replace(/<[^>]*>/g, ' ');
  return text;
}

function removeBraced(text: string): string {
  let out = '';
  let depth = 0;
  for (const ch of text) {
    if (ch === '{') depth++;
    else if (ch === '}' && depth > 0) depth--;
    else if (depth === 0) out += ch;
  }
  return out;
}
