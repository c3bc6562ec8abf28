/**
 * Which sandbox and port a request is for: the `E2b-Sandbox-Id` / `E2b-Sandbox-Port` headers (what the SDK sends
 * when E2B_SANDBOX_URL is set) or a host name `<port>-<sandboxID>.<domain>` (what `sandbox.getHost(port)` gives).
 * Anything else is a control-plane request.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface RouteTarget {
  sandboxId: string;
  port: number;
}

export type RouteDecision =
  | { kind: 'api' }
  | { kind: 'sandbox'; target: RouteTarget }
  | { kind: 'invalid'; reason: string };

const HOST_NAME = /^(\d{1,5})-([a-z0-9]{20})\./;

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function port(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

export function routeOf(headers: IncomingHttpHeaders, domain: string): RouteDecision {
  const id = one(headers['e2b-sandbox-id']);
  const portHeader = one(headers['e2b-sandbox-port']);
  if (id !== undefined || portHeader !== undefined) {
    if (!id || !/^[a-z0-9]{20}$/.test(id)) return { kind: 'invalid', reason: 'E2b-Sandbox-Id is not a sandbox id' };
    const p = port(portHeader ?? '');
    if (p === undefined) return { kind: 'invalid', reason: 'E2b-Sandbox-Port is missing or not a port number' };
    return { kind: 'sandbox', target: { sandboxId: id, port: p } };
  }
  const host = (one(headers.host) ?? '').toLowerCase();
  const m = HOST_NAME.exec(host);
  if (m && host.slice(m[0].length) === domain.toLowerCase()) {
    const p = port(m[1]!);
    if (p === undefined) return { kind: 'invalid', reason: `host ${host}: ${m[1]} is not a port number` };
    return { kind: 'sandbox', target: { sandboxId: m[2]!, port: p } };
  }
  return { kind: 'api' };
}
