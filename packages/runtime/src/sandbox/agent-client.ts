/**
 * The host's side of the guest agent (envd, port 49983) for what only the host may do: hand a sandbox its identity
 * after a checkout or a resume (POST /init: env vars, access token, clock, hostname, fresh entropy for the kernel's
 * random pool) and read its resource use (GET /metrics). Every clone of one checkpoint wakes with the template's
 * identity and random state, so /init runs before a sandbox is handed out.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';

export const AGENT_PORT = 49983;

export interface SandboxIdentity {
  sandboxId: string;
  envVars: Record<string, string>;
  accessToken: string;
  /** Default: the sandbox id. */
  hostname?: string;
}

export interface AgentMetrics {
  cpuCount: number;
  cpuUsedPct: number;
  memTotal: number;
  memUsed: number;
  memCache: number;
  diskUsed: number;
  diskTotal: number;
}

export class AgentError extends Error {
  override name = 'AgentError';
}

function call(
  address: string,
  method: string,
  path: string,
  body: unknown,
  token: string | undefined,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: address,
        port: AGENT_PORT,
        method,
        path,
        // A connection per call: Node's default agent keeps sockets alive, and a pooled socket to an address that
        // a killed sandbox had and a new one now has is answered with a reset by the new guest.
        agent: false,
        headers: {
          ...(payload !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
          ...(token ? { 'x-access-token': token } : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () =>
      req.destroy(new AgentError(`agent at ${address} did not answer ${method} ${path} within ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * POST /init with `fields` plus what every /init carries: the host's clock and fresh entropy for the guest's CRNG.
 * `token` is the token the agent holds, if it holds one.
 */
async function postInit(
  address: string,
  fields: Record<string, unknown>,
  token: string | undefined,
  timeoutMs: number,
): Promise<void> {
  const body = { ...fields, timestamp: new Date().toISOString(), entropy: randomBytes(64).toString('base64') };
  const { status, text } = await call(address, 'POST', '/init', body, token, timeoutMs);
  if (status < 200 || status > 299)
    throw new AgentError(`agent at ${address} refused /init (${status}): ${text.slice(0, 300)}`);
}

/**
 * Gives the sandbox its identity. `previousToken` is the token an earlier /init set (a resumed sandbox's agent
 * still holds it and refuses an /init without it).
 */
export function initAgent(
  address: string,
  identity: SandboxIdentity,
  previousToken?: string,
  timeoutMs = 10_000,
): Promise<void> {
  const fields = {
    envVars: identity.envVars,
    accessToken: identity.accessToken,
    hostname: identity.hostname ?? identity.sandboxId,
    sandboxId: identity.sandboxId,
  };
  return postInit(address, fields, previousToken, timeoutMs);
}

/**
 * Brings an idle pool entry's agent to the present (clock, fresh entropy) through the same /init a checkout sends,
 * with no sandbox's identity (no token, id or environment): the pool's `warmHot` hook, so that this VM has run the
 * path once before its checkout does.
 */
export function warmIdleAgent(address: string, timeoutMs = 10_000): Promise<void> {
  // The name the template's init gives a guest before any sandbox is assigned to it.
  return postInit(address, { hostname: 'coppice' }, undefined, timeoutMs);
}

export async function agentMetrics(address: string, token: string, timeoutMs = 5_000): Promise<AgentMetrics> {
  const { status, text } = await call(address, 'GET', '/metrics', undefined, token, timeoutMs);
  if (status !== 200)
    throw new AgentError(`agent at ${address} answered /metrics with ${status}: ${text.slice(0, 300)}`);
  const m = JSON.parse(text) as Record<string, number>;
  return {
    cpuCount: m.cpu_count ?? 0,
    cpuUsedPct: m.cpu_used_pct ?? 0,
    memTotal: m.mem_total ?? 0,
    memUsed: m.mem_used ?? 0,
    memCache: m.mem_cache ?? 0,
    diskUsed: m.disk_used ?? 0,
    diskTotal: m.disk_total ?? 0,
  };
}
