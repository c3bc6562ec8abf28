import { readFileSync, readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { slug } from '../schema/common.ts';
import { resultFileSchema, type ResultFile } from '../schema/result-file.ts';
import { formatFieldPath } from './field-path.ts';
import type { Problem } from './problem.ts';
import { RESULT_FILE_MAX_BYTES, RESULT_FILE_NAME, startedAtStamp } from './result-path.ts';

export interface LoadedResult {
  /** Repo-relative path, forward slashes: what the site puts in `data-result`. */
  path: string;
  data: ResultFile;
  /** Size of the file in bytes. */
  size: number;
}

export interface LoadedTree {
  /** Every file that passed all checks, sorted by path. */
  results: LoadedResult[];
  /** Every problem found, in path order; a file with any problem is not in `results`. */
  problems: Problem[];
}

export interface LoadOptions {
  /** Repository root: problem and result paths are relative to it; a relative `rootDir` is resolved against it. */
  repoRoot: string;
}

const LAYOUT = 'expected <rig-id>/<host-id>/<YYYYMMDDTHHMMSSZ>.json';
/** Files git needs to keep an empty directory; allowed anywhere in the tree. */
const IGNORED = new Set(['.gitkeep']);

/**
 * Reads and validates every result file under `rootDir`, collecting every problem instead of stopping at the first.
 * A missing `rootDir` is an empty tree. Reads only; never writes.
 */
export function loadResultsTree(rootDir: string, options: LoadOptions): LoadedTree {
  const repoRoot = path.resolve(options.repoRoot);
  const root = path.resolve(repoRoot, rootDir);
  const rel = (abs: string) => toPosix(path.relative(repoRoot, abs)) || '.';
  const results: LoadedResult[] = [];
  const problems: Problem[] = [];

  let rootStat;
  try {
    rootStat = statSync(root);
  } catch (error) {
    if (isMissing(error)) return { results, problems };
    problems.push({
      file: rel(root),
      kind: 'unreadable',
      message: `cannot read the results directory: ${errorText(error)}`,
    });
    return { results, problems };
  }
  if (!rootStat.isDirectory()) {
    problems.push({ file: rel(root), kind: 'stray', message: 'is not a directory (the results root must be one)' });
    return { results, problems };
  }

  for (const rigEntry of listDir(root, rel, problems)) {
    const rigDir = path.join(root, rigEntry.name);
    if (!isTreeDirectory(rigEntry, rigDir, 'a rig directory', rel, problems)) continue;
    for (const hostEntry of listDir(rigDir, rel, problems)) {
      const hostDir = path.join(rigDir, hostEntry.name);
      if (!isTreeDirectory(hostEntry, hostDir, 'a host directory', rel, problems)) continue;
      for (const fileEntry of listDir(hostDir, rel, problems)) {
        const file = path.join(hostDir, fileEntry.name);
        if (!fileEntry.isFile() || !RESULT_FILE_NAME.test(fileEntry.name)) {
          problems.push({
            file: rel(file),
            kind: 'stray',
            message: `is ${describe(fileEntry)} that does not belong in the results tree (${LAYOUT})`,
          });
          continue;
        }
        const loaded = loadResultFile(file, rel(file), { rigId: rigEntry.name, hostId: hostEntry.name }, problems);
        if (loaded) results.push(loaded);
      }
    }
  }
  return { results, problems };
}

/** Reads, parses and validates one result file; pushes its problems and returns it only if it has none. */
function loadResultFile(
  file: string,
  relPath: string,
  where: { rigId: string; hostId: string },
  problems: Problem[],
): LoadedResult | undefined {
  const before = problems.length;
  let text: string;
  let size: number;
  try {
    size = statSync(file).size;
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push({ file: relPath, kind: 'unreadable', message: `cannot read: ${errorText(error)}` });
    return undefined;
  }
  if (size > RESULT_FILE_MAX_BYTES) {
    problems.push({
      file: relPath,
      kind: 'too-large',
      message: `is ${size} bytes, over the ${RESULT_FILE_MAX_BYTES}-byte (2 MB) limit for a result file`,
    });
  }

  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    problems.push({ file: relPath, kind: 'bad-json', message: `is not valid JSON: ${errorText(error)}` });
    return undefined;
  }

  const parsed = resultFileSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          problems.push({
            file: relPath,
            field: formatFieldPath([...issue.path, key]),
            kind: 'schema',
            message: 'is not a field of result file v1',
          });
        }
        continue;
      }
      problems.push({
        file: relPath,
        field: issue.path.length > 0 ? formatFieldPath(issue.path) : undefined,
        kind: 'schema',
        message: /received undefined$/.test(issue.message) ? 'is required but missing' : issue.message,
      });
    }
  }
  // Checked on the raw JSON too, so that a file failing the schema still reports a misplaced path.
  checkPlacement(raw, relPath, where, problems);

  if (problems.length > before || !parsed.success) return undefined;
  return { path: relPath, data: parsed.data, size };
}

function checkPlacement(
  raw: unknown,
  relPath: string,
  where: { rigId: string; hostId: string },
  problems: Problem[],
): void {
  const rigId = pick(raw, 'rig', 'id');
  if (typeof rigId === 'string' && rigId !== where.rigId) {
    problems.push({
      file: relPath,
      field: 'rig.id',
      kind: 'path-mismatch',
      message: `is "${rigId}" but the file sits in rig directory "${where.rigId}"`,
    });
  }
  const hostId = pick(raw, 'host', 'id');
  if (typeof hostId === 'string' && hostId !== where.hostId) {
    problems.push({
      file: relPath,
      field: 'host.id',
      kind: 'path-mismatch',
      message: `is "${hostId}" but the file sits in host directory "${where.hostId}"`,
    });
  }
  const startedAt = pick(raw, 'run', 'startedAt');
  const fileStamp = RESULT_FILE_NAME.exec(path.posix.basename(relPath))?.[1];
  if (typeof startedAt === 'string' && fileStamp !== undefined) {
    let stamp: string | undefined;
    try {
      stamp = startedAtStamp(startedAt);
    } catch {
      stamp = undefined; // not a timestamp: the schema reports it
    }
    if (stamp !== undefined && stamp !== fileStamp) {
      problems.push({
        file: relPath,
        field: 'run.startedAt',
        kind: 'path-mismatch',
        message: `is ${startedAt}, which names the file ${stamp}.json, but the file is ${fileStamp}.json`,
      });
    }
  }
}

function listDir(dir: string, rel: (abs: string) => string, problems: Problem[]): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => !IGNORED.has(entry.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (error) {
    problems.push({ file: rel(dir), kind: 'unreadable', message: `cannot list directory: ${errorText(error)}` });
    return [];
  }
}

function isTreeDirectory(
  entry: Dirent,
  abs: string,
  what: string,
  rel: (abs: string) => string,
  problems: Problem[],
): boolean {
  if (!entry.isDirectory()) {
    problems.push({
      file: rel(abs),
      kind: 'stray',
      message: `is ${describe(entry)} where ${what} belongs (${LAYOUT})`,
    });
    return false;
  }
  if (!slug.safeParse(entry.name).success) {
    problems.push({
      file: rel(abs),
      kind: 'stray',
      message: `directory name is not ${what === 'a rig directory' ? 'a rig id' : 'a host id'} (a lower-case slug) (${LAYOUT})`,
    });
    return false;
  }
  return true;
}

function describe(entry: Dirent): string {
  if (entry.isSymbolicLink()) return 'a symbolic link';
  if (entry.isDirectory()) return 'a directory';
  if (entry.isFile()) return 'a file';
  return 'a special file';
}

function pick(value: unknown, outer: string, inner: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  const o = (value as Record<string, unknown>)[outer];
  if (typeof o !== 'object' || o === null) return undefined;
  return (o as Record<string, unknown>)[inner];
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
