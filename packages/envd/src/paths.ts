import { isAbsolute, join, normalize } from 'node:path';

/** Thrown for a path the agent will not touch; handlers map it to invalid_argument / HTTP 400. */
export class InvalidPathError extends Error {
  override name = 'InvalidPathError';
}

// A lone UTF-16 surrogate: what a JSON "\ud800" escape decodes to. It has no UTF-8 form, so Node would silently
// write U+FFFD to the filesystem instead: a different file than the client named.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Rejects text that is not valid Unicode or holds a NUL byte, naming `what`. */
export function checkText(value: string, what: string): void {
  if (LONE_SURROGATE.test(value)) throw new InvalidPathError(`${what} is not valid UTF-8`);
  if (value.includes('\0')) throw new InvalidPathError(`${what} contains a NUL byte`);
}

/**
 * The absolute, normalised path a client means: absolute paths as given, `~` and `~/x` and relative paths
 * against the user's home (how the e2b SDK documents paths).
 */
export function resolveUserPath(raw: string, home: string, what = 'path'): string {
  checkText(raw, what);
  if (raw === '') throw new InvalidPathError(`${what} is empty`);
  if (raw === '~') return normalize(home);
  if (raw.startsWith('~/')) return normalize(join(home, raw.slice(2)));
  return normalize(isAbsolute(raw) ? raw : join(home, raw));
}

/**
 * Strict query-string parsing: URLSearchParams turns a malformed or non-UTF-8 %-escape into U+FFFD and would
 * make the agent read or write a different path than the one sent; here it is an error naming the parameter.
 */
export function parseQuery(search: string): Map<string, string> {
  const out = new Map<string, string>();
  const text = search.startsWith('?') ? search.slice(1) : search;
  if (!text) return out;
  for (const pair of text.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
    } catch {
      throw new InvalidPathError('a query parameter name is not valid UTF-8');
    }
    try {
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      throw new InvalidPathError(`query parameter ${JSON.stringify(key)} is not valid UTF-8`);
    }
    if (!out.has(key)) out.set(key, value);
  }
  return out;
}
