import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../host/durable-files.ts';
import { readBack } from '../host/read-back.ts';
import { POOL_MODES, TEMPLATE_NAME, type PoolMode } from './config.ts';
import { PoolInputError } from './errors.ts';

/** The operator's templates: `<stateDir>/templates.json`, written by `coppice pool init`. */
export interface TemplateDef {
  name: string;
  memoryMiB: number;
  vcpus: number;
  mode: PoolMode;
  hot: number;
  durable: number;
  /** Guest build directory (vmlinuz + initrd.cpio). */
  guestDir: string;
}

export function templatesPath(stateDir: string): string {
  return join(stateDir, 'templates.json');
}

/**
 * Read-back and input rules of a template in one place (zod), so the registry is held to the rules `pool init` wrote
 * it under. Messages name the value, as the operator typed it.
 */
export const templateSchema = z.object({
  name: z.string().refine((n) => TEMPLATE_NAME.test(n), {
    error: (i) => `invalid template name ${JSON.stringify(i.input)}: 1-20 of [a-z0-9-], starting with a letter`,
  }),
  memoryMiB: z.number().refine((n) => Number.isInteger(n) && n >= 64 && n <= 16384, {
    error: (i) => `memory ${String(i.input)} MiB out of range 64-16384`,
  }),
  vcpus: z.number().refine((n) => Number.isInteger(n) && n >= 1 && n <= 8, {
    error: (i) => `vcpus ${String(i.input)} out of range 1-8`,
  }),
  mode: z
    .string()
    .refine((m) => (POOL_MODES as readonly string[]).includes(m), {
      error: (i) => `invalid mode ${JSON.stringify(i.input)}: expected ${POOL_MODES.join(', ')}`,
    })
    .transform((m) => m as PoolMode),
  hot: z.number().refine((n) => Number.isInteger(n) && n >= 0 && n <= 256, {
    error: (i) => `hot size ${String(i.input)} out of range 0-256`,
  }),
  durable: z.number().refine((n) => Number.isInteger(n) && n >= 0 && n <= 256, {
    error: (i) => `durable size ${String(i.input)} out of range 0-256`,
  }),
  guestDir: z.string().refine((d) => d.startsWith('/') && !d.includes('\0'), 'expected an absolute path'),
});

const registrySchema = z.array(templateSchema);

/** The registry; [] when there is none. A registry that fails its schema is refused (CorruptFileError), unchanged. */
export async function loadTemplates(stateDir: string): Promise<TemplateDef[]> {
  return (await readBack(templatesPath(stateDir), registrySchema, { asWritten: true })) ?? [];
}

export async function findTemplate(stateDir: string, name: string): Promise<TemplateDef> {
  const all = await loadTemplates(stateDir);
  const t = all.find((x) => x.name === name);
  if (!t) {
    throw new PoolInputError(
      `unknown template "${name}"${all.length ? ` (known: ${all.map((x) => x.name).join(', ')})` : ' (none: run coppice pool init)'}`,
    );
  }
  return t;
}

export function validateTemplate(t: TemplateDef): TemplateDef {
  const r = templateSchema.safeParse(t);
  if (!r.success) throw new PoolInputError(r.error.issues[0]?.message ?? 'invalid template');
  return r.data;
}

export async function saveTemplate(stateDir: string, t: TemplateDef): Promise<void> {
  validateTemplate(t);
  const all = (await loadTemplates(stateDir)).filter((x) => x.name !== t.name);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(templatesPath(stateDir), JSON.stringify([...all, t], null, 1) + '\n');
}
