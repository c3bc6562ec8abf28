import type { LoadedResult, StatName } from '@coppice/results-schema';
import { labelsAttr } from '../format.ts';
import { resultRepoPath } from '../data/urls.ts';

/** The provenance attributes every rendered measurement carries (the site README's claims contract). */
export function measureAttrs(
  result: LoadedResult,
  metric: string,
  labels: Record<string, string>,
  stat: StatName,
  value: number,
  unit: string,
  flag?: string,
): Record<string, string | undefined> {
  return {
    'data-result': resultRepoPath(result),
    'data-rig': result.data.rig.id,
    'data-metric': metric,
    'data-labels': labelsAttr(labels),
    'data-stat': stat,
    'data-value': String(value),
    'data-unit': unit,
    'data-flagged': flag ? 'true' : undefined,
  };
}
