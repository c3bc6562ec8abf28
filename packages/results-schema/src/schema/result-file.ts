import { z } from 'zod';
import { isoUtc, platform, sha256Hex, slug, stringMap } from './common.ts';

/** Result file, schema version 1: one file per rig run (the README, "Reading a result file"). */
export const seriesSchema = z
  .object({
    metric: slug,
    unit: z.string().min(1),
    labels: stringMap,
    /** Raw samples, never summaries. */
    samples: z.array(z.number().finite()),
    failures: z.array(z.object({ index: z.number().int().nonnegative(), error: z.string() }).strict()),
  })
  .strict();

export const checkSchema = z.object({ name: z.string().min(1), ok: z.boolean(), detail: z.string() }).strict();

export const hostSchema = z
  .object({
    id: slug,
    platform,
    os: z.string().min(1),
    kernel: z.string().min(1),
    cpu: z
      .object({
        model: z.string().min(1),
        cores: z.number().int().positive(),
        threads: z.number().int().positive(),
      })
      .strict(),
    memoryBytes: z.number().int().positive(),
    backend: z.object({ hypervisor: z.string(), firewall: z.string() }).strict(),
    facts: stringMap,
    tools: stringMap,
  })
  .strict();

export const resultFileSchema = z
  .object({
    schemaVersion: z.literal(1),
    rig: z
      .object({
        id: slug,
        script: z
          .string()
          .min(1)
          .refine((p) => !p.startsWith('/'), 'must be a repo-relative path'),
        sourceSha256: sha256Hex,
      })
      .strict(),
    run: z
      .object({
        id: z.string().min(1),
        startedAt: isoUtc,
        finishedAt: isoUtc,
        git: z.object({ commit: z.string().min(1), dirty: z.boolean() }).strict(),
        command: z.string().min(1),
        params: z.record(z.string(), z.unknown()),
      })
      .strict(),
    host: hostSchema,
    series: z.array(seriesSchema),
    checks: z.array(checkSchema).optional(),
  })
  .strict()
  .superRefine((file, ctx) => {
    if (Date.parse(file.run.finishedAt) < Date.parse(file.run.startedAt)) {
      ctx.addIssue({ code: 'custom', path: ['run', 'finishedAt'], message: 'is earlier than run.startedAt' });
    }
    file.series.forEach((s, i) => {
      const total = s.samples.length + s.failures.length;
      s.failures.forEach((f, j) => {
        if (f.index >= total) {
          ctx.addIssue({
            code: 'custom',
            path: ['series', i, 'failures', j, 'index'],
            message: `is ${f.index}, beyond the ${total} attempts of this series`,
          });
        }
      });
    });
  });

export type ResultFile = z.infer<typeof resultFileSchema>;
export type Series = z.infer<typeof seriesSchema>;
export type Check = z.infer<typeof checkSchema>;
export type HostInfo = z.infer<typeof hostSchema>;
