/**
 * Reading back a file the runtime wrote earlier (state, records, registries, sidecars): parsed as JSON and checked
 * with a zod schema, so a corrupt or tampered file is refused with its path and the field at fault, before any of it
 * is acted on. Nothing here writes: a refused file stays as it is, for the operator to look at.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

export class CorruptFileError extends Error {
  constructor(
    readonly path: string,
    /** The field at fault as a dotted path (`entries.0.vm.runDir`), empty for the file as a whole. */
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${path} is corrupt: ${field ? `field ${field}: ` : ''}${problem} (the file was left as it is)`);
    this.name = 'CorruptFileError';
  }
}

/**
 * One issue of a failed parse, as the field path and its message: the one nearest the top of the file (fewest path
 * steps, then by name), so the answer does not depend on which asynchronous check settled first.
 */
function firstIssue(error: z.ZodError): { field: string; message: string } {
  const key = (i: z.core.$ZodIssue) => i.path.map(String).join('.');
  const issue = [...error.issues].sort((a, b) => a.path.length - b.path.length || key(a).localeCompare(key(b)))[0];
  return { field: issue ? issue.path.map(String).join('.') : '', message: issue?.message ?? 'invalid' };
}

/** Checks already-parsed data (e.g. one JSON value of a journal) against `schema`; throws CorruptFileError. */
export async function checkReadBack<S extends z.ZodType>(
  path: string,
  value: unknown,
  schema: S,
): Promise<z.output<S>> {
  const r = await schema.safeParseAsync(value);
  if (r.success) return r.data;
  const { field, message } = firstIssue(r.error);
  throw new CorruptFileError(path, field, message);
}

/** Parses `text` (the content of `path`) as JSON and checks it against `schema`; throws CorruptFileError. */
export async function parseReadBack<S extends z.ZodType>(path: string, text: string, schema: S): Promise<z.output<S>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CorruptFileError(path, '', `not JSON (${(e as Error).message})`);
  }
  return checkReadBack(path, value, schema);
}

export interface ReadBackOptions {
  /**
   * Return the value as written (key order included) once it passed the schema, instead of the schema's rebuilt
   * output: for a file the runtime saves again, so that a save of unchanged state writes the same bytes. Only for
   * schemas without transforms.
   */
  asWritten?: boolean;
}

/** Reads and checks `path`; undefined when it does not exist. */
export async function readBack<S extends z.ZodType>(
  path: string,
  schema: S,
  options: ReadBackOptions = {},
): Promise<z.output<S> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const checked = await parseReadBack(path, text, schema);
  return options.asWritten ? (JSON.parse(text) as z.output<S>) : checked;
}

/**
 * A schema that runs one of the runtime's own parsers (those that throw a message naming what is wrong), so a
 * read-back file is held to exactly the rules its values were written under.
 */
export function viaParser<T>(parse: (value: unknown) => T): z.ZodType<T> {
  return z.unknown().transform((value, ctx) => {
    try {
      return parse(value);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  }) as unknown as z.ZodType<T>;
}
