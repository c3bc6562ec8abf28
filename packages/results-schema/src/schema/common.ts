import { z } from 'zod';

/** Lower-case slug used for rig ids, host ids, metric names and label keys. */
export const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,79}$/, 'must be a lower-case slug: a-z, 0-9, ".", "_", "-" (at most 80 characters)');

export const stringMap = z.record(z.string(), z.string());

/** ISO 8601 timestamp in UTC with a trailing Z, e.g. 2026-11-28T19:51:02.123Z. */
export const isoUtc = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'must be an ISO 8601 UTC timestamp ending in Z')
  // Date.parse rolls impossible dates over (2026-02-30 → 2026-03-02, 24:00 → next day): require a round trip.
  .refine((s) => {
    const ms = Date.parse(s);
    return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 19) === s.slice(0, 19);
  }, 'is not a real date');

export const platform = z.enum(['linux', 'freebsd']);
export type Platform = z.infer<typeof platform>;

export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');
