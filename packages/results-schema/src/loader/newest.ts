import type { LoadedResult } from './load-tree.ts';

/**
 * The newest result per (rig id, host id), by run.startedAt (ties: the later path). This is the file a claim
 * shows; older files stay as history. Sorted by rig id, then host id.
 */
export function newestPerRigHost<T extends LoadedResult>(results: readonly T[]): T[] {
  const newest = new Map<string, T>();
  for (const result of results) {
    const key = `${result.data.rig.id}\u0000${result.data.host.id}`;
    const current = newest.get(key);
    if (current === undefined || isNewer(result, current)) newest.set(key, result);
  }
  return [...newest.values()].sort(
    (a, b) => compareText(a.data.rig.id, b.data.rig.id) || compareText(a.data.host.id, b.data.host.id),
  );
}

function isNewer(a: LoadedResult, b: LoadedResult): boolean {
  const ta = Date.parse(a.data.run.startedAt);
  const tb = Date.parse(b.data.run.startedAt);
  return ta !== tb ? ta > tb : a.path > b.path;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
