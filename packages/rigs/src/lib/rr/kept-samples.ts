import { evenSubsample } from '@coppice/results-schema';
import type { RigContext } from '../../harness/rig-context.ts';

/** At most `max` of `rtts`, evenly spaced; the counts before and after go to run.params as `<name>Transactions/Kept`. */
export function keep(ctx: RigContext, name: string, rtts: number[], max: number): number[] {
  const kept = evenSubsample(rtts, max);
  ctx.param(`${name}Transactions`, rtts.length);
  ctx.param(`${name}Kept`, kept.length);
  return kept;
}
