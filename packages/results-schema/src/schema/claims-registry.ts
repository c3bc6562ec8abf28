import { z } from 'zod';
import { slug, stringMap } from './common.ts';
import { statName } from './stat.ts';

/**
 * The claims registry: the tables, rows and cells of the claims page, as data. Cells name where a figure comes from
 * (a rig's series and a statistic, a rig's check, a published reference); the site resolves them against result
 * files and validates them against the rig manifests. Prose never carries a figure typed by hand: it binds one with
 * a placeholder (see `placeholderPattern`).
 */

/**
 * A target the project sets as a bound on a figure (a ratio, or a statistic in its series' unit): met when the figure
 * is at most `max` and at least `min`. A figure of the registry (the target's words), not a measurement; the page
 * computes whether it is met.
 */
export const targetSchema = z
  .object({
    max: z.number().positive().optional(),
    min: z.number().positive().optional(),
  })
  .strict()
  .refine((t) => t.max !== undefined || t.min !== undefined, { message: 'a target needs max, min or both' })
  .refine((t) => t.max === undefined || t.min === undefined || t.min <= t.max, { message: 'target min is above max' });

/** A statistic of one series of a rig: `stat` over the samples of (rig, metric, labels) in the newest result file. */
export const measuredCellSchema = z
  .object({
    kind: z.literal('measured'),
    rig: slug,
    metric: slug,
    labels: stringMap.default({}),
    stat: statName,
    /** A bound in the series' unit (e.g. checkout p95 at most 25 ms); a ratio's operands take none. */
    target: targetSchema.optional(),
  })
  .strict();

/**
 * One statistic divided by another (e.g. sandbox RTT p50 ÷ bare-pair p50), each operand resolved as a measured cell
 * is. `sameRun` demands both come from one result file (the same rig's newest run), so the ratio is not an accident
 * of when each ran; without it, operands from two files are shown as such.
 */
export const ratioCellSchema = z
  .object({
    kind: z.literal('ratio'),
    numerator: measuredCellSchema,
    denominator: measuredCellSchema,
    target: targetSchema.optional(),
    sameRun: z.boolean().default(false),
  })
  .strict()
  .refine((c) => c.numerator.target === undefined && c.denominator.target === undefined, {
    message: 'an operand takes no target: put the target on the ratio',
  })
  .refine((c) => !c.sameRun || c.numerator.rig === c.denominator.rig, {
    message: 'sameRun needs both operands from one rig: two rigs never write one result file',
    path: ['sameRun'],
  });

/** A pass/fail check a rig records (e.g. a leak audit): shows how many recorded checks of that name passed. */
export const checkCellSchema = z
  .object({
    kind: z.literal('check'),
    rig: slug,
    check: z.string().min(1),
  })
  .strict();

/** A figure someone else published (benchmarks/references/<reference>.json), rendered as a citation. */
export const referenceCellSchema = z
  .object({
    kind: z.literal('reference'),
    reference: slug,
    figure: slug,
  })
  .strict();

/** A fact of the host the row's results ran on (from the result file's `host`), for the Host table. */
export const hostFields = ['cpu', 'cores', 'memory', 'os', 'kernel', 'platform', 'hypervisor', 'firewall'] as const;
export const hostCellSchema = z
  .object({
    kind: z.literal('host'),
    field: z.enum(hostFields),
  })
  .strict();

/** Plain prose (may hold placeholders). */
export const textCellSchema = z.object({ kind: z.literal('text'), text: z.string() }).strict();

export const cellSchema = z.discriminatedUnion('kind', [
  measuredCellSchema,
  ratioCellSchema,
  checkCellSchema,
  referenceCellSchema,
  hostCellSchema,
  textCellSchema,
]);

export const columnSchema = z
  .object({
    id: slug,
    header: z.string().min(1),
    /** Marks a column of published figures (styled as citations), e.g. "Linux/eBPF (published)". */
    published: z.boolean().default(false),
  })
  .strict();

export const rowSchema = z
  .object({
    id: slug,
    /** The row's label (first column); prose, may hold placeholders. */
    label: z.string().min(1),
    /** The rig whose manifest gives this row's link and reproduce command. */
    rig: slug.optional(),
    /**
     * The rig is not written yet: the row says so (distinct from a dash) until its manifest exists, then it renders
     * like any other row.
     */
    planned: z.boolean().default(false),
    cells: z.record(slug, cellSchema),
    /** Prose shown in the row's notes column; may hold placeholders. */
    note: z.string().optional(),
  })
  .strict();

export const chartSchema = z
  .object({
    /** One mark per value of `by`: the samples of (rig, metric, labels + {by: value}) on a log-scale axis. */
    kind: z.literal('samples-log'),
    title: z.string().min(1),
    rig: slug,
    metric: slug,
    labels: stringMap.default({}),
    by: slug,
    values: z.array(z.string().min(1)).min(1),
    /** The statistic marked on each row of dots (e.g. the mean the table shows). */
    stat: statName,
    /** The rig is not written yet (as for a planned row): the chart is left out until its manifest exists. */
    planned: z.boolean().default(false),
  })
  .strict();

export const sectionSchema = z
  .object({
    id: slug,
    title: z.string().min(1),
    /** Prose above the table; may hold placeholders. */
    intro: z.string().optional(),
    /** Header of the first column, which holds the row labels. */
    rowHeader: z.string().default(''),
    columns: z.array(columnSchema).min(1),
    rows: z.array(rowSchema).min(1),
    chart: chartSchema.optional(),
    /** Prose below the table; may hold placeholders. */
    notes: z.array(z.string()).default([]),
  })
  .strict()
  .superRefine((section, ctx) => {
    const columnIds = new Set(section.columns.map((c) => c.id));
    const seenRows = new Set<string>();
    section.rows.forEach((row, i) => {
      if (seenRows.has(row.id)) {
        ctx.addIssue({ code: 'custom', path: ['rows', i, 'id'], message: `duplicate row id "${row.id}"` });
      }
      seenRows.add(row.id);
      for (const col of Object.keys(row.cells)) {
        if (!columnIds.has(col)) {
          ctx.addIssue({
            code: 'custom',
            path: ['rows', i, 'cells', col],
            message: `names column "${col}", which section "${section.id}" does not have`,
          });
        }
      }
    });
    if (columnIds.size !== section.columns.length) {
      ctx.addIssue({ code: 'custom', path: ['columns'], message: 'column ids must be unique' });
    }
  });

export const claimsRegistrySchema = z
  .object({
    /** The host the index page shows; when absent or not captured, the host with the most captured cells. */
    headlineHost: slug.optional(),
    intro: z.string().optional(),
    sections: z.array(sectionSchema).min(1),
    /** "What isn't on this page": prose items. */
    notOnThisPage: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .superRefine((registry, ctx) => {
    const seen = new Set<string>();
    registry.sections.forEach((s, i) => {
      if (seen.has(s.id))
        ctx.addIssue({ code: 'custom', path: ['sections', i, 'id'], message: `duplicate section id "${s.id}"` });
      seen.add(s.id);
    });
  });

/**
 * Placeholders in prose:
 *   {cell:<section>.<row>.<column>}  the value of that cell (with its provenance)
 *   {given:<text>}                   a configuration value the reader is told, not a measurement (e.g. 256 MiB)
 */
export const placeholderPattern = /\{(cell|given):([^{}]+)\}/g;

export type MeasuredCell = z.infer<typeof measuredCellSchema>;
export type RatioCell = z.infer<typeof ratioCellSchema>;
export type Target = z.infer<typeof targetSchema>;
export type CheckCell = z.infer<typeof checkCellSchema>;
export type ReferenceCell = z.infer<typeof referenceCellSchema>;
export type HostCell = z.infer<typeof hostCellSchema>;
export type HostField = (typeof hostFields)[number];
export type TextCell = z.infer<typeof textCellSchema>;
export type Cell = z.infer<typeof cellSchema>;
export type Column = z.infer<typeof columnSchema>;
export type Row = z.infer<typeof rowSchema>;
export type Chart = z.infer<typeof chartSchema>;
export type Section = z.infer<typeof sectionSchema>;
export type ClaimsRegistry = z.infer<typeof claimsRegistrySchema>;
export type ClaimsRegistryInput = z.input<typeof claimsRegistrySchema>;
