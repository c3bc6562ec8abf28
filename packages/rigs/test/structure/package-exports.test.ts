import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const PACKAGE_JSON = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, string>;
};
const SKIP = new Set(['node_modules', 'dist', '.astro', '.turbo', '.git', 'test-results']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (SKIP.has(e.name)) return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|mjs|js|astro)$/.test(e.name) ? [path] : [];
  });
}

/** Every `@coppice/rigs` or `@coppice/rigs/<sub>` module specifier in the repo's apps and packages, with where. */
function rigsImports(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of [...sourceFiles(join(REPO, 'apps')), ...sourceFiles(join(REPO, 'packages'))]) {
    for (const m of readFileSync(file, 'utf8').matchAll(/['"](@coppice\/rigs(?:\/[^'"]*)?)['"]/g)) {
      const at = found.get(m[1]!) ?? [];
      found.set(m[1]!, [...at, relative(REPO, file)]);
    }
  }
  return found;
}

describe('the @coppice/rigs public API', () => {
  it('is a list of named entry points, no wildcard', () => {
    expect(Object.keys(PACKAGE_JSON.exports).filter((k) => k.includes('*'))).toEqual([]);
  });

  it('names every entry point the repo imports', () => {
    const imports = rigsImports();
    expect(imports.size).toBeGreaterThan(0);
    const missing = [...imports].filter(
      ([spec]) => !(`.${spec.slice('@coppice/rigs'.length)}` in PACKAGE_JSON.exports),
    );
    expect(missing).toEqual([]);
  });
});
