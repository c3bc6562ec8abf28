import { z } from 'zod';

/** Statistics a claims cell may ask for; each is recomputed from raw samples by `stats/`. */
export const statNames = ['n', 'mean', 'median', 'stddev', 'min', 'max', 'p50', 'p90', 'p95', 'p99', 'mad'] as const;
export const statName = z.enum(statNames);
export type StatName = z.infer<typeof statName>;
