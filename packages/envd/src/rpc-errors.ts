import { Code, ConnectError } from '@connectrpc/connect';
import { InvalidPathError } from './paths.ts';

/** The Connect code the e2b SDK maps to the matching exception (FileNotFoundError, InvalidArgumentError, ...). */
const CODE_BY_ERRNO: Record<string, Code> = {
  ENOENT: Code.NotFound,
  EEXIST: Code.AlreadyExists,
  ENOTEMPTY: Code.FailedPrecondition,
  ENOTDIR: Code.InvalidArgument,
  EISDIR: Code.InvalidArgument,
  EINVAL: Code.InvalidArgument,
  ENAMETOOLONG: Code.InvalidArgument,
  ELOOP: Code.InvalidArgument,
  EACCES: Code.PermissionDenied,
  EPERM: Code.PermissionDenied,
  EROFS: Code.PermissionDenied,
  ENOSPC: Code.ResourceExhausted,
  EDQUOT: Code.ResourceExhausted,
};

const WORDING: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'already exists',
  ENOTEMPTY: 'directory not empty',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
};

/** Turns a failure while handling `path` into a ConnectError with the code the SDK expects. */
export function toConnectError(error: unknown, path?: string): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof InvalidPathError) return new ConnectError(error.message, Code.InvalidArgument);
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (errno && errno in CODE_BY_ERRNO) {
    const what = WORDING[errno] ?? errno;
    return new ConnectError(path ? `${path}: ${what}` : what, CODE_BY_ERRNO[errno]);
  }
  return new ConnectError(error instanceof Error ? error.message : String(error), Code.Internal);
}

/** HTTP status for the same failures on the plain /files routes (the SDK reads 400/401/404/507 there). */
export function httpStatusFor(error: unknown): number {
  if (error instanceof InvalidPathError) return 400;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (errno) {
    case 'ENOENT':
      return 404;
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EINVAL':
    case 'ENAMETOOLONG':
    case 'ELOOP':
      return 400;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 403;
    case 'ENOSPC':
    case 'EDQUOT':
      return 507;
    default:
      return 500;
  }
}
