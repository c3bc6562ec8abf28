import { z } from 'zod';
import type { AgentState } from './agent-state.ts';
import type { OsEffects } from './os-effects.ts';
import { checkText } from './paths.ts';

const MAX_ENTROPY_BYTES = 4096;

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a shell variable name');
const safeText = z.string().refine((s) => !s.includes('\0'), 'must not contain a NUL byte');

/**
 * Body of POST /init, sent by the host after boot and after every restore. envVars, accessToken, timestamp,
 * defaultUser and defaultWorkdir are E2B's fields; hostname, sandboxId and entropy are Coppice's.
 * Unknown keys are refused so a misspelt field is an error, not a silently ignored setting.
 */
export const InitRequestSchema = z.strictObject({
  envVars: z.record(envName, safeText).optional(),
  accessToken: z.string().min(1).max(512).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional(),
  timestamp: z.iso.datetime({ offset: true }).optional(),
  defaultUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a user name').optional(),
  defaultWorkdir: z.string().startsWith('/', 'must be an absolute path').optional(),
  hostname: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, 'must be a host name')
    .optional(),
  sandboxId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -').optional(),
  entropy: z
    .string()
    .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'must be base64')
    .refine((s) => s.length > 0 && (s.length / 4) * 3 <= MAX_ENTROPY_BYTES + 2, `must be 1..${MAX_ENTROPY_BYTES} bytes`)
    .optional(),
});
export type InitRequest = z.infer<typeof InitRequestSchema>;

/** A refused /init body, with every problem named by its field. */
export class InitRequestError extends Error {
  override name = 'InitRequestError';
}

export function parseInitRequest(body: unknown): InitRequest {
  const parsed = InitRequestSchema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`);
    throw new InitRequestError(`invalid /init body: ${problems.join('; ')}`);
  }
  if (parsed.data.defaultWorkdir !== undefined) checkText(parsed.data.defaultWorkdir, 'defaultWorkdir');
  return parsed.data;
}

/**
 * Applies a validated /init: the OS effects first (clock before anything that timestamps), then the in-memory
 * settings, then the generation file. A failing effect leaves the agent's settings as they were.
 */
export async function applyInit(request: InitRequest, state: AgentState, effects: OsEffects): Promise<void> {
  if (request.timestamp !== undefined) await effects.setClock(new Date(request.timestamp));
  if (request.hostname !== undefined) await effects.setHostname(request.hostname);
  if (request.entropy !== undefined) await effects.mixEntropy(Buffer.from(request.entropy, 'base64'));

  if (request.envVars !== undefined) state.defaultEnv = { ...request.envVars };
  if (request.accessToken !== undefined) state.accessToken = request.accessToken;
  if (request.defaultUser !== undefined) state.defaultUser = request.defaultUser;
  if (request.defaultWorkdir !== undefined) state.defaultWorkdir = request.defaultWorkdir;
  if (request.sandboxId !== undefined) state.sandboxId = request.sandboxId;
  state.generation += 1;
  await effects.writeGeneration(`${JSON.stringify({ generation: state.generation, sandboxId: state.sandboxId ?? null })}\n`);
}
