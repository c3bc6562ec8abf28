/** What the busybox and the template phases of cold-start share: a timed round of concurrent checkouts, and waiting for a VM to stop. */
import type { Pool } from '@coppice/runtime/pool';
import type { RigContext, SeriesRecorder } from '../../harness/rig-context.ts';
import type { TimelineRecorder } from './refill-timeline.ts';

export async function checkoutRound(
  ctx: RigContext,
  pool: Pool,
  phase: string,
  cc: number,
  series: SeriesRecorder,
  timeline?: TimelineRecorder,
): Promise<void> {
  const out: string[] = [];
  const sources: Record<string, number> = {};
  try {
    await ctx.concurrent({ phase, cc, series }, async () => {
      const t0 = performance.now();
      const r = await pool.checkout();
      timeline?.add('checkout', r.source, t0, r.readyAt);
      out.push(r.id);
      sources[r.source] = (sources[r.source] ?? 0) + 1;
      return r.readyAt - t0;
    });
  } finally {
    for (const id of out) await pool.return(id);
  }
  if (cc > 1) ctx.log(`${phase}: served from ${JSON.stringify(sources)}`);
}

export async function untilStopped(pid: number): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  for (let i = 0; i < 1000; i++) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`VM ${pid} did not stop`);
}
