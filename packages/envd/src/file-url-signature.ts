/**
 * The e2b SDK's signed file URLs (`sandbox.uploadUrl()`, `downloadUrl()`): `/files?path&username&signature
 * [&signature_expiration]`, where signature is `v1_` + base64 SHA-256 of `path:operation:user:token[:expiration]`
 * without `=` padding, operation `read` for GET and `write` otherwise. Checked by the agent and by the gateway.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export function fileUrlSignatureValid(
  query: URLSearchParams,
  method: string,
  accessToken: string,
  nowMs = Date.now(),
): boolean {
  const signature = query.get('signature');
  if (!signature) return false;
  const path = query.get('path') ?? '';
  const user = query.get('username') ?? '';
  const operation = method === 'GET' ? 'read' : 'write';
  const expiration = query.get('signature_expiration');
  if (expiration !== null && (!/^\d+$/.test(expiration) || Number(expiration) < nowMs / 1000)) return false;
  const raw = [path, operation, user, accessToken, ...(expiration === null ? [] : [expiration])].join(':');
  const expected = Buffer.from(`v1_${createHash('sha256').update(raw).digest('base64').replace(/=+$/, '')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
