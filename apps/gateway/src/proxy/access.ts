/**
 * Who may send traffic to a sandbox port. The agent's port (envd, 49983) runs commands: it needs the sandbox's
 * access token (X-Access-Token) or a URL signature made with it (the SDK's upload/download URLs). The code
 * interpreter (49999) likewise, except DELETE of a context, which the SDK sends without the token (a context id is
 * a random UUID only its creator knows). Other ports are public unless the sandbox was created with
 * allowPublicTraffic false, when they need the traffic token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { SandboxRecord } from '../store/types.ts';

export const ENVD_PORT = 49983;
export const INTERPRETER_PORT = 49999;

function same(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The SDK's v1 file URL signature: base64 SHA-256 of `path:operation:user:token[:expiration]`, `=` stripped. */
function validSignature(url: URL, method: string, token: string, now: number): boolean {
  const signature = url.searchParams.get('signature');
  if (!signature || url.pathname !== '/files') return false;
  const path = url.searchParams.get('path') ?? '';
  const user = url.searchParams.get('username') ?? '';
  const operation = method === 'GET' ? 'read' : 'write';
  const expiration = url.searchParams.get('signature_expiration');
  if (expiration !== null && (!/^\d+$/.test(expiration) || Number(expiration) < now / 1000)) return false;
  const raw =
    expiration === null
      ? `${path}:${operation}:${user}:${token}`
      : `${path}:${operation}:${user}:${token}:${expiration}`;
  const expected = `v1_${createHash('sha256').update(raw).digest('base64').replace(/=+$/, '')}`;
  return same(signature, expected);
}

export function mayAccess(
  s: SandboxRecord,
  port: number,
  method: string,
  rawUrl: string,
  headers: IncomingHttpHeaders,
  now = Date.now(),
): boolean {
  const url = new URL(rawUrl, 'http://sandbox');
  if (port === ENVD_PORT || port === INTERPRETER_PORT) {
    if (same(header(headers, 'x-access-token'), s.envdToken)) return true;
    if (port === ENVD_PORT) return validSignature(url, method, s.envdToken, now);
    return method === 'DELETE' && /^\/contexts\/[^/]+$/.test(url.pathname);
  }
  if (s.network.allowPublicTraffic) return true;
  return same(header(headers, 'e2b-traffic-access-token'), s.trafficToken);
}
