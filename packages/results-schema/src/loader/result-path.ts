/** Where a result file lives: `<rig-id>/<host-id>/<startedAt as YYYYMMDDTHHMMSSZ>.json` under the results root. */

/** A result file may not exceed 2 MB (2 × 1024 × 1024 bytes); the harness subsamples to stay under it. */
export const RESULT_FILE_MAX_BYTES = 2 * 1024 * 1024;

export const RESULT_FILE_NAME = /^(\d{8}T\d{6}Z)\.json$/;

/** `2026-11-28T19:51:02.123Z` → `20261128T195102Z` (to the second; throws on anything but an ISO UTC stamp). */
export function startedAtStamp(startedAt: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$/.exec(startedAt);
  if (!m)
    throw new RangeError(`startedAtStamp: ${JSON.stringify(startedAt)} is not an ISO 8601 UTC timestamp ending in Z`);
  return `${m[1]}${m[2]}${m[3]}T${m[4]}${m[5]}${m[6]}Z`;
}

/** Path of a result file relative to the results root, forward slashes. */
export function resultFileRelativePath(rigId: string, hostId: string, startedAt: string): string {
  return `${rigId}/${hostId}/${startedAtStamp(startedAt)}.json`;
}
