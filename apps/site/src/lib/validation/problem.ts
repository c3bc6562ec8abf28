import { formatFieldPath, formatProblem } from '@coppice/results-schema';

/** One reason the build must fail: the file (repo-relative), the field inside it, and what is wrong. */
export interface Problem {
  file: string;
  field?: string;
  message: string;
}

export class BuildValidationError extends Error {
  override name = 'BuildValidationError';
  constructor(readonly problems: readonly Problem[]) {
    super(
      `the site cannot be built: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` +
        problems.map((p) => `  ${formatProblem({ ...p, kind: 'schema' })}`).join('\n'),
    );
  }
}

export const fieldPath = formatFieldPath;
