import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { crossRigImports, importCycles, importGraph } from './import-graph.ts';

const PACKAGE = fileURLToPath(new URL('../../', import.meta.url));
const SRC = join(PACKAGE, 'src');

describe('the rigs package source', () => {
  it('has no rig importing from another rig: shared code lives in src/lib', () => {
    expect(crossRigImports(importGraph(SRC), join(SRC, 'rigs'), PACKAGE)).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(importCycles(importGraph(SRC), PACKAGE)).toEqual([]);
  });

  it('keeps src/lib free of rig code', () => {
    const graph = importGraph(join(SRC, 'lib'));
    const intoRigs = [...graph.values()].flat().filter((to) => to.startsWith(join(SRC, 'rigs')));
    expect(intoRigs).toEqual([]);
  });
});

describe('the import checks', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  function tree(files: Record<string, string>): string {
    dir = mkdtempSync(join(tmpdir(), 'coppice-rigs-imports-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  }

  it('find an import from one rig folder into another, and one into a file beside the rig folders', () => {
    const root = tree({
      'rigs/a/rig.ts': "import { x } from '../b/helper.ts';\nexport { y } from '../shared.ts';\n",
      'rigs/b/helper.ts':
        "import { z } from '../../lib/z.ts';\nimport { w } from './w.ts';\nexport const x = await import('../a/rig.ts');\n",
      'rigs/b/w.ts': 'export const w = 1;\n',
      'rigs/shared.ts': "import { x } from './a/rig.ts';\n",
      'lib/z.ts': 'export const z = 1;\n',
    });
    expect(crossRigImports(importGraph(root), join(root, 'rigs'), root).sort()).toEqual([
      'rigs/a/rig.ts -> rigs/b/helper.ts',
      'rigs/a/rig.ts -> rigs/shared.ts',
      'rigs/b/helper.ts -> rigs/a/rig.ts',
    ]);
  });

  it('find a cycle of two files and report none in a tree without one', () => {
    const cyclic = tree({
      'a.ts': "import { b } from './b.ts';\n",
      'b.ts': "import type { A } from './a.ts';\n",
      'c.ts': "import { b } from './b.ts';\n",
    });
    expect(importCycles(importGraph(cyclic), cyclic)).toEqual([['a.ts', 'b.ts']]);
    rmSync(cyclic, { recursive: true, force: true });
    const acyclic = tree({
      'a.ts': "import { b } from './b.ts';\n",
      'b.ts': 'export const b = 1;\n',
      'c.ts': "import { b } from './b.ts';\n",
    });
    expect(importCycles(importGraph(acyclic), acyclic)).toEqual([]);
  });
});
