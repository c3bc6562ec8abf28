import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface SourceFile {
  /** Repo-relative path. */
  path: string;
  text: string;
}

/**
 * The rig's source as it is in this checkout: its script and, when the script lives in a folder of its own
 * (src/rigs/<id>/), every other .ts file of that folder, script first.
 */
export function rigSources(root: string, script: string, rigId: string): SourceFile[] {
  const abs = join(root, script);
  const files: SourceFile[] = [];
  if (existsSync(abs)) files.push({ path: script, text: readFileSync(abs, 'utf8') });
  const dir = dirname(script);
  if (basename(dir) === rigId && existsSync(join(root, dir)) && statSync(join(root, dir)).isDirectory()) {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const path = `${dir}/${name}`;
      if (path === script || !name.endsWith('.ts')) continue;
      files.push({ path, text: readFileSync(join(root, path), 'utf8') });
    }
  }
  return files;
}
