/**
 * The relative imports between the rigs package's own source files, read with TypeScript's preprocessor (static
 * imports, `export … from` and dynamic `import()` with a literal), for the structure tests.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** Every .ts file under `dir` (absolute), mapped to the absolute paths of the files it imports relatively. */
export function importGraph(dir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(dir)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    graph.set(
      file,
      importedFiles
        .map((i) => i.fileName)
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => resolve(dirname(file), spec)),
    );
  }
  return graph;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/**
 * Imports that reach from one rig's folder (`<rigsDir>/<id>/…`) into another rig's folder or into a file directly
 * under `rigsDir`, as "from -> to" relative to `root`.
 */
export function crossRigImports(graph: Map<string, string[]>, rigsDir: string, root: string): string[] {
  const rigOf = (file: string): string | undefined => {
    const rel = relative(rigsDir, file);
    if (rel.startsWith('..')) return undefined;
    const parts = rel.split(sep);
    return parts.length > 1 ? parts[0] : '';
  };
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const rig = rigOf(from);
    if (!rig) continue;
    for (const to of targets) {
      const target = rigOf(to);
      if (target !== undefined && target !== rig) out.push(`${relative(root, from)} -> ${relative(root, to)}`);
    }
  }
  return out;
}

/** Import cycles, each as the files on it (relative to `root`), found by depth-first search. */
export function importCycles(graph: Map<string, string[]>, root: string): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push(stack.slice(stack.indexOf(next)).map((f) => relative(root, f)));
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}
