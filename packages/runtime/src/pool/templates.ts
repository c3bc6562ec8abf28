import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../host/durable-files.ts';
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

export async function loadTemplates(stateDir: string): Promise<TemplateDef[]> {
  try {
    return JSON.parse(await readFile(templatesPath(stateDir), 'utf8')) as TemplateDef[];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export async function findTemplate(stateDir: string, name: string): Promise<TemplateDef> {
  const all = await loadTemplates(stateDir);
  const t = all.find((x) => x.name === name);
  if (!t) {
    throw new PoolInputError(`unknown template "${name}"${all.length ? ` (known: ${all.map((x) => x.name).join(', ')})` : ' (none: run coppice pool init)'}`);
  }
  return t;
}

export function validateTemplate(t: TemplateDef): TemplateDef {
  if (!TEMPLATE_NAME.test(t.name)) throw new PoolInputError(`invalid template name "${t.name}": 1-20 of [a-z0-9-], starting with a letter`);
  if (!Number.isInteger(t.memoryMiB) || t.memoryMiB < 64 || t.memoryMiB > 16384) throw new PoolInputError(`memory ${t.memoryMiB} MiB out of range 64-16384`);
  if (!Number.isInteger(t.vcpus) || t.vcpus < 1 || t.vcpus > 8) throw new PoolInputError(`vcpus ${t.vcpus} out of range 1-8`);
  if (!POOL_MODES.includes(t.mode)) throw new PoolInputError(`invalid mode "${t.mode}": expected ${POOL_MODES.join(', ')}`);
  for (const [k, v] of [['hot', t.hot], ['durable', t.durable]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 256) throw new PoolInputError(`${k} size ${v} out of range 0-256`);
  }
  return t;
}

export async function saveTemplate(stateDir: string, t: TemplateDef): Promise<void> {
  validateTemplate(t);
  const all = (await loadTemplates(stateDir)).filter((x) => x.name !== t.name);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(templatesPath(stateDir), JSON.stringify([...all, t], null, 1) + '\n');
}
