/** One thing wrong with a results tree, located by file and (when inside a file) field. */
export interface Problem {
  /** Repo-relative path of the file or directory, with forward slashes. */
  file: string;
  /** Field inside the file, e.g. `series[2].samples[5]`; absent for whole-file problems. */
  field?: string;
  kind: ProblemKind;
  message: string;
}

export type ProblemKind =
  | 'unreadable' // the file or directory could not be read
  | 'bad-json' // not valid JSON
  | 'schema' // fails resultFileSchema
  | 'path-mismatch' // rig id, host id or startedAt disagree with where the file sits
  | 'too-large' // over RESULT_FILE_MAX_BYTES
  | 'stray'; // anything in the tree that is not <rig-id>/<host-id>/<YYYYMMDDTHHMMSSZ>.json

/** One line per problem: `file: field: message` (field omitted for whole-file problems). */
export function formatProblem(problem: Problem): string {
  return problem.field === undefined
    ? `${problem.file}: ${problem.message}`
    : `${problem.file}: ${problem.field}: ${problem.message}`;
}

export function formatProblems(problems: readonly Problem[]): string {
  if (problems.length === 0) return 'no problems';
  const heading =
    problems.length === 1 ? '1 problem in the results tree:' : `${problems.length} problems in the results tree:`;
  return [heading, ...problems.map((p) => `  ${formatProblem(p)}`)].join('\n');
}

/** Thrown by assertNoProblems; carries every problem, and its message lists them all. */
export class ResultsTreeError extends Error {
  override name = 'ResultsTreeError';
  constructor(readonly problems: readonly Problem[]) {
    super(formatProblems(problems));
  }
}

/** Throws one ResultsTreeError listing every problem, or returns when there are none. */
export function assertNoProblems(input: readonly Problem[] | { problems: readonly Problem[] }): void {
  const problems = Array.isArray(input) ? input : (input as { problems: readonly Problem[] }).problems;
  if (problems.length > 0) throw new ResultsTreeError(problems);
}
