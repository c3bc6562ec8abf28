import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  evenSubsample,
  RESULT_FILE_MAX_BYTES,
  resultFileRelativePath,
  resultFileSchema,
  startedAtStamp,
  type ResultFile,
  type Series,
} from '@coppice/results-schema';

/** Result files above this size have their largest series evenly subsampled (recorded in run.params.subsampled). */
export const MAX_RESULT_BYTES = RESULT_FILE_MAX_BYTES;

/** `<out>/<rig-id>/<host-id>/<startedAt as YYYYMMDDTHHMMSSZ>.json` */
export function resultPath(outDir: string, file: Pick<ResultFile, 'rig' | 'host' | 'run'>): string {
  return join(outDir, resultFileRelativePath(file.rig.id, file.host.id, file.run.startedAt));
}

/** Pretty JSON with each samples array on one line: readable provenance, compact numbers. */
export function serializeResult(file: ResultFile): string {
  return `${JSON.stringify(file, null, 2).replace(/\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]/g, (_, nums: string) => `[${nums.replace(/\s+/g, '')}]`)}\n`;
}

export interface SubsampleNote {
  metric: string;
  labels: Record<string, string>;
  recorded: number;
  kept: number;
}

/**
 * Keeps the file under `maxBytes` by evenly subsampling the largest series, one at a time. Failure indices are
 * rescaled to the shortened series so they stay attempt positions. Returns the (possibly) reduced file.
 */
export function fitResult(file: ResultFile, maxBytes = MAX_RESULT_BYTES): ResultFile {
  let current = file;
  const notes: SubsampleNote[] = [];
  for (let round = 0; round < 50; round++) {
    const size = Buffer.byteLength(serializeResult(current));
    if (size <= maxBytes) break;
    const series = current.series.map((s) => s);
    const largest = series.reduce((a, b) => (b.samples.length > a.samples.length ? b : a));
    if (largest.samples.length < 2) throw new Error(`result is ${size} bytes even without large series`);
    const keep = Math.max(1, Math.floor(largest.samples.length * Math.min(0.9, (maxBytes / size) * 0.95)));
    const reduced = subsampleSeries(largest, keep);
    const i = series.indexOf(largest);
    series[i] = reduced;
    const prior = notes.find((n) => n.metric === largest.metric && sameLabels(n.labels, largest.labels));
    if (prior) prior.kept = keep;
    else notes.push({ metric: largest.metric, labels: largest.labels, recorded: largest.samples.length, kept: keep });
    current = { ...current, series };
  }
  if (notes.length === 0) return file;
  return { ...current, run: { ...current.run, params: { ...current.run.params, subsampled: notes } } };
}

function subsampleSeries(s: Series, keep: number): Series {
  const attempts = s.samples.length + s.failures.length;
  const newAttempts = keep + s.failures.length;
  const used = new Set<number>();
  const failures = s.failures.map((f) => {
    let index = Math.min(newAttempts - 1, Math.round((f.index * (newAttempts - 1)) / Math.max(1, attempts - 1)));
    while (used.has(index)) index = (index + 1) % newAttempts;
    used.add(index);
    return { ...f, index };
  });
  return { ...s, samples: evenSubsample(s.samples, keep), failures };
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Schema errors as "path: message" lines. */
export function validationProblems(file: unknown): string[] {
  const parsed = resultFileSchema.safeParse(file);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
}

/**
 * Validates the whole file against the schema, then writes it atomically under `outDir`: a temp file in the target
 * folder, fsynced, then hard-linked to its final name (which fails if the name exists: a result is never
 * overwritten) and the temp name removed. Nothing is left behind on any failure. Resolves with the final path.
 */
export async function writeResultFile(
  outDir: string,
  input: ResultFile,
  options: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const maxBytes = options.maxBytes ?? MAX_RESULT_BYTES;
  const problems = validationProblems(input);
  if (problems.length > 0) throw new Error(`result file is invalid, not written:\n  ${problems.join('\n  ')}`);
  const file = fitResult(input, maxBytes);
  const problemsAfterFit = validationProblems(file);
  if (problemsAfterFit.length > 0) throw new Error(`subsampled result is invalid: ${problemsAfterFit.join('; ')}`);

  const final = resultPath(outDir, file);
  const dir = dirname(final);
  await mkdir(dir, { recursive: true });
  if (await exists(final)) throw new Error(`refusing to overwrite existing result ${final}`);
  const tmp = join(
    dir,
    `.${startedAtStamp(file.run.startedAt)}.json.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(serializeResult(file));
      await handle.sync();
    } finally {
      await handle.close();
    }
    options.signal?.throwIfAborted();
    await publish(tmp, final);
  } finally {
    await unlink(tmp).catch(() => {});
  }
  await syncDir(dir);
  return final;
}

/** link() is atomic and fails with EEXIST instead of replacing; rename() is the fallback where links are unsupported. */
async function publish(tmp: string, final: string): Promise<void> {
  try {
    await link(tmp, final);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new Error(`refusing to overwrite existing result ${final}`);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw e;
    if (await exists(final)) throw new Error(`refusing to overwrite existing result ${final}`);
    await rename(tmp, final);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => {});
  await handle.close();
}
