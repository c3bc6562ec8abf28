import { z } from 'zod';
import { slug } from './common.ts';

/**
 * A figure published by someone else (benchmarks/references/*.json). Shown on the site only as a citation,
 * never as our measurement.
 */
export const publishedFigureSchema = z
  .object({
    id: slug,
    /** What was measured, in the publisher's terms. */
    what: z.string().min(1),
    /** The figure exactly as published, quoted, e.g. "~5–10 µs" or "47.8 ms". */
    quoted: z.string().min(1),
    value: z.number().finite().optional(),
    unit: z.string().optional(),
  })
  .strict();

export const publishedReferenceSchema = z
  .object({
    id: slug,
    system: z.string().min(1),
    source: z.string().url(),
    /** File or page path inside the source, when the source is a repository. */
    sourcePath: z.string().optional(),
    /** Date the figures were published or retrieved, YYYY-MM-DD. */
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    host: z.string().min(1),
    figures: z.array(publishedFigureSchema).min(1),
  })
  .strict();

export type PublishedReference = z.infer<typeof publishedReferenceSchema>;
export type PublishedFigure = z.infer<typeof publishedFigureSchema>;
