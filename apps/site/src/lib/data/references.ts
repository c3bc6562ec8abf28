import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { publishedReferenceSchema, type PublishedReference } from '@coppice/results-schema';
import { fieldPath, type Problem } from '../validation/problem.ts';

export interface LoadedReference {
  /** Repo-relative path, e.g. benchmarks/references/cubesandbox.json. */
  path: string;
  reference: PublishedReference;
}

/** Reads and validates every benchmarks/references/*.json; problems name the file and the field. */
export function loadReferences(dir: string, root: string): { references: LoadedReference[]; problems: Problem[] } {
  const references: LoadedReference[] = [];
  const problems: Problem[] = [];
  if (!existsSync(dir)) return { references, problems };
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    const abs = join(dir, name);
    const path = relative(root, abs).split('\\').join('/');
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(abs, 'utf8'));
    } catch (e) {
      problems.push({ file: path, field: '', message: `is not valid JSON: ${(e as Error).message}` });
      continue;
    }
    const parsed = publishedReferenceSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        problems.push({ file: path, field: fieldPath(issue.path), message: issue.message });
      }
      continue;
    }
    if (`${parsed.data.id}.json` !== name) {
      problems.push({ file: path, field: 'id', message: `is "${parsed.data.id}" but the file is named ${name}` });
      continue;
    }
    references.push({ path, reference: parsed.data });
  }
  return { references, problems };
}
