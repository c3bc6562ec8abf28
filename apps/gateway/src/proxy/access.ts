/**
 * Who may send traffic to a sandbox port. The agent's port (envd, 49983) runs commands: it needs the sandbox's
 * access token (X-Access-Token) or a URL signature made with it (the SDK's upload/download URLs). The code
 * interpreter (49999) likewise for /execute; its /contexts routes, which the SDK sends without the token and which
 * run no code, are treated as any other port. Other ports are public unless the sandbox was created with
 * allowPublicTraffic false, when they need the traffic token.
 */
import { timingSafeEqual } from 'node:crypto';
import { fileUrlSignatureValid } from '@coppice/envd/file-url-signature';
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
    if (port === ENVD_PORT)
      return url.pathname === '/files' && fileUrlSignatureValid(url.searchParams, method, s.envdToken, now);
    // The code interpreter SDK sends the token with /execute only; managing contexts runs no code. Those requests
    // are let through as any other port's are.
    if (!/^\/contexts(\/|$)/.test(url.pathname)) return false;
  }
  if (s.network.allowPublicTraffic) return true;
  return same(header(headers, 'e2b-traffic-access-token'), s.trafficToken);
}
