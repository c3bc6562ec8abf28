/** The request bodies and query strings the control plane accepts, as E2B's SDKs send them. */
import { z } from 'zod';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name');
const metadataMap = z
  .record(z.string().min(1).max(128), z.string().max(1024))
  .refine((m) => Object.keys(m).length <= 64, 'at most 64 metadata keys');
const envMap = z
  .record(envName, z.string().max(32 * 1024))
  .refine((m) => Object.keys(m).length <= 256, 'at most 256 env vars');
/** A destination a sandbox may or may not reach: an IPv4/IPv6 address or CIDR (cubenet validates it again). */
const destination = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[0-9A-Fa-f.:/]+$/, 'an IP address or CIDR');

/** A sandbox's life when its create names no timeout, as E2B's API gives it. */
export const DEFAULT_SANDBOX_TIMEOUT_SECONDS = 300;

export const createBody = z
  .object({
    templateID: z.string().min(1).max(64).default('base'),
    // The e2b SDK (2.x) leaves `timeout` out unless the program sets timeoutMs; E2B then gives 300 s.
    timeout: z.number().int().min(0).default(DEFAULT_SANDBOX_TIMEOUT_SECONDS),
    metadata: metadataMap.nullish(),
    envVars: envMap.nullish(),
    allow_internet_access: z.boolean().nullish(),
    network: z
      .object({
        allowOut: z.array(destination).max(1000).nullish(),
        denyOut: z.array(destination).max(1000).nullish(),
        allowPublicTraffic: z.boolean().nullish(),
        maskRequestHost: z.string().nullish(),
      })
      .nullish(),
    autoPause: z.boolean().nullish(),
    autoPauseMemory: z.boolean().nullish(),
    autoResume: z.object({ enabled: z.boolean() }).nullish(),
    secure: z.boolean().nullish(),
    mcp: z.unknown().nullish(),
    iam: z.unknown().nullish(),
    volumeMounts: z.array(z.unknown()).nullish(),
  })
  .superRefine((b, ctx) => {
    if (b.volumeMounts?.length)
      ctx.addIssue({
        code: 'custom',
        path: ['volumeMounts'],
        message: 'volume mounts are not supported by this server',
      });
    if (b.mcp)
      ctx.addIssue({ code: 'custom', path: ['mcp'], message: 'MCP gateways are not supported by this server' });
    if (b.autoResume?.enabled)
      ctx.addIssue({
        code: 'custom',
        path: ['autoResume'],
        message: 'auto-resume on traffic is not supported by this server',
      });
    if (b.autoPauseMemory === false)
      ctx.addIssue({
        code: 'custom',
        path: ['autoPauseMemory'],
        message: 'filesystem-only pause is not supported: a pause keeps memory',
      });
  });

export type CreateBody = z.infer<typeof createBody>;

export const timeoutBody = z.object({ timeout: z.number().int().min(0) });
export const connectBody = z
  .object({ timeout: z.number().int().min(0).nullish(), memory: z.boolean().nullish() })
  .default({});
export const resumeBody = z
  .object({ timeout: z.number().int().min(0).nullish(), autoPause: z.boolean().nullish() })
  .default({});
export const pauseBody = z.object({ memory: z.boolean().nullish() }).nullish();

const STATES = ['running', 'paused'] as const;

export const listQuery = z.object({
  state: z.array(z.enum(STATES)).optional(),
  metadata: z.string().max(8192).optional(),
  template: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  nextToken: z.string().max(200).optional(),
});

export const metricsQuery = z.object({
  start: z.coerce.number().int().min(0).optional(),
  end: z.coerce.number().int().min(0).optional(),
});

/** `metadata` arrives as a form-encoded string whose keys and values were each URI-encoded once more. */
export function parseMetadataQuery(raw: string | undefined): Record<string, string> | undefined {
  if (!raw) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(raw)) out[decodeURIComponent(k)] = decodeURIComponent(v);
  return out;
}

export function encodeNextToken(cursor: { startedAt: number; id: string }): string {
  return Buffer.from(`${cursor.startedAt}:${cursor.id}`).toString('base64url');
}

export function decodeNextToken(token: string): { startedAt: number; id: string } {
  const m = /^(\d{1,16}):([a-z0-9]{20})$/.exec(Buffer.from(token, 'base64url').toString());
  if (!m) throw new Error('nextToken is not one this server issued');
  return { startedAt: Number(m[1]), id: m[2]! };
}
