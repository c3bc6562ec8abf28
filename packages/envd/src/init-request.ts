// zod/mini, not zod: the same validator at a fraction of the bundle (the full zod was two thirds of the agent's
// code, paid in start time and memory by every sandbox).
import * as z from 'zod/mini';
import englishMessages from 'zod/v4/locales/en.js';
import type { AgentState } from './agent-state.ts';
import type { OsEffects } from './os-effects.ts';
import { checkText } from './paths.ts';

// zod/mini carries no error wording of its own; English messages name what a refused field should be.
z.config(englishMessages());

// What coppice-clone-helper takes in one reseed.
const MIN_ENTROPY_BYTES = 16;
const MAX_ENTROPY_BYTES = 512;

const envName = z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a shell variable name'));
const safeText = z.string().check(z.refine((s) => !s.includes('\0'), 'must not contain a NUL byte'));

/**
 * Body of POST /init, sent by the host after boot and after every restore. envVars, accessToken, timestamp,
 * defaultUser and defaultWorkdir are E2B's fields; hostname, sandboxId and entropy are Coppice's.
 * Unknown keys are refused so a misspelt field is an error, not a silently ignored setting.
 */
export const InitRequestSchema = z.strictObject({
  envVars: z.optional(z.record(envName, safeText)),
  accessToken: z.optional(
    z
      .string()
      .check(z.minLength(1), z.maxLength(512), z.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')),
  ),
  timestamp: z.optional(z.iso.datetime({ offset: true })),
  defaultUser: z.optional(z.string().check(z.regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a user name'))),
  defaultWorkdir: z.optional(z.string().check(z.startsWith('/', 'must be an absolute path'))),
  hostname: z.optional(
    z
      .string()
      .check(
        z.maxLength(64),
        z.regex(
          /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
          'must be a host name',
        ),
      ),
  ),
  sandboxId: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'))),
  entropy: z.optional(
    z.string().check(
      z.regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'must be base64'),
      z.refine((s) => {
        const bytes = (s.length / 4) * 3 - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0);
        return bytes >= MIN_ENTROPY_BYTES && bytes <= MAX_ENTROPY_BYTES;
      }, `must be ${MIN_ENTROPY_BYTES}..${MAX_ENTROPY_BYTES} bytes`),
    ),
  ),
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
  await effects.writeGeneration(
    `${JSON.stringify({ generation: state.generation, sandboxId: state.sandboxId ?? null })}\n`,
  );
}
