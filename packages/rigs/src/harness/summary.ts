import type { RigOutcome } from './run-rig.ts';

/** The end-of-run table: one row per rig, captured (file), skipped (reason) or failed (reason). */
export function formatSummary(outcomes: readonly RigOutcome[]): string {
  const rows = outcomes.map((o) => [o.rig, o.status, o.status === 'captured' ? `${o.file} (${o.seconds}s)` : o.reason]);
  const header = ['rig', 'outcome', 'file or reason'];
  const width = (i: number) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length));
  const line = (r: string[]) => `${r[0]!.padEnd(width(0))}  ${r[1]!.padEnd(width(1))}  ${r[2]}`.trimEnd();
  const counts = (['captured', 'skipped', 'failed'] as const)
    .map((s) => `${outcomes.filter((o) => o.status === s).length} ${s}`)
    .join(', ');
  return [line(header), ...rows.map(line), '', counts].join('\n');
}
