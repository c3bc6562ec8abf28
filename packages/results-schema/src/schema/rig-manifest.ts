import { z } from 'zod';
import { platform, slug } from './common.ts';

/**
 * A rig's manifest: pure data, read by the harness (to run and preflight it) and by the site (rig pages, registry
 * validation). Requirements are data too; the harness turns them into checks.
 */
export const metricSchema = z
  .object({
    name: slug,
    unit: z.string().min(1),
    description: z.string().min(1),
    /** Label keys and the values a series may carry for each, e.g. { cc: ["1", "10"] }. */
    labels: z.record(slug, z.array(z.string().min(1)).min(1)),
  })
  .strict();

export const requirementsSchema = z
  .object({
    root: z.boolean().default(false),
    /** Executables that must be on PATH, per platform. */
    binaries: z.partialRecord(platform, z.array(z.string().min(1))).default({}),
    /** Free-text kernel/host facts the rig's own preflight checks, shown on the rig page. */
    notes: z.array(z.string()).default([]),
  })
  .strict();

export const rigManifestSchema = z
  .object({
    id: slug,
    title: z.string().min(1),
    summary: z.string().min(1),
    /** Repo-relative path of the rig script. */
    script: z.string().min(1),
    platforms: z.array(platform).min(1),
    requirements: requirementsSchema,
    metrics: z.array(metricSchema).min(1),
    /** Names of pass/fail checks the rig may record. */
    checks: z.array(z.string().min(1)).default([]),
    /** Where the clock starts and stops, in words. */
    clock: z.string().min(1),
    /** Command a reader runs to reproduce the capture. */
    reproduce: z.string().min(1),
    /** Sample counts: full and --quick. */
    samples: z.object({ full: z.number().int().positive(), quick: z.number().int().positive() }).strict(),
  })
  .strict();

export type RigManifest = z.infer<typeof rigManifestSchema>;
export type RigManifestInput = z.input<typeof rigManifestSchema>;
export type MetricDef = z.infer<typeof metricSchema>;
