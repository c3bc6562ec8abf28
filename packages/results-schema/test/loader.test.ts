import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RESULT_FILE_MAX_BYTES,
  ResultsTreeError,
  assertNoProblems,
  formatFieldPath,
  formatProblems,
  isoUtc,
  loadResultsTree,
  newestPerRigHost,
  resultFileRelativePath,
  startedAtStamp,
  type LoadedResult,
  type Problem,
} from '../src/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const fixtures = 'packages/results-schema/test/fixtures';
const valid = `${fixtures}/valid-tree`;
const invalid = `${fixtures}/invalid-tree`;
const goodFile = path.join(repoRoot, valid, 'host-limits/fixture-linux-2c/20261128T100000Z.json');

const tempDirs: string[] = [];
function tempTree(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coppice-test-loader-'));
  tempDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function problemsOf(problems: Problem[], fileEnd: string): Problem[] {
  return problems.filter((p) => p.file.endsWith(fileEnd));
}

describe('loadResultsTree on a valid tree', () => {
  const tree = loadResultsTree(valid, { repoRoot });

  it('loads every file, validated, with repo-relative paths and sizes, and no problems', () => {
    expect(tree.problems).toEqual([]);
    expect(tree.results.map((r) => r.path)).toEqual([
      `${valid}/host-limits/fixture-freebsd-16c/20261127T080000Z.json`,
      `${valid}/host-limits/fixture-linux-2c/20261128T100000Z.json`,
      `${valid}/host-limits/fixture-linux-2c/20261128T120000Z.json`,
      `${valid}/net-rr/fixture-linux-2c/20261128T110000Z.json`,
    ]);
    const first = tree.results[1]!;
    expect(first.size).toBe(readFileSync(goodFile).byteLength);
    expect(first.data.series[2]!.samples).toHaveLength(7);
    expect(first.data.host.id).toBe('fixture-linux-2c');
  });

  it('accepts an absolute root directory too', () => {
    const abs = loadResultsTree(path.join(repoRoot, valid), { repoRoot });
    expect(abs.results.map((r) => r.path)).toEqual(tree.results.map((r) => r.path));
  });

  it('picks the newest file per (rig, host) by startedAt', () => {
    expect(newestPerRigHost(tree.results).map((r) => r.path)).toEqual([
      `${valid}/host-limits/fixture-freebsd-16c/20261127T080000Z.json`,
      `${valid}/host-limits/fixture-linux-2c/20261128T120000Z.json`,
      `${valid}/net-rr/fixture-linux-2c/20261128T110000Z.json`,
    ]);
  });

  it('assertNoProblems passes on it', () => {
    expect(() => assertNoProblems(tree)).not.toThrow();
  });
});

describe('loadResultsTree on an invalid tree', () => {
  const tree = loadResultsTree(invalid, { repoRoot });

  it('keeps only the one good file and reports every problem, each with its file', () => {
    expect(tree.results.map((r) => r.path)).toEqual([`${invalid}/host-limits/fixture-linux-2c/20261128T100000Z.json`]);
    expect(tree.problems).toHaveLength(16);
    expect(tree.problems.every((p) => p.file.startsWith(`${invalid}/`))).toBe(true);
  });

  it('reports bad JSON', () => {
    expect(problemsOf(tree.problems, '20261128T110000Z.json')).toEqual([
      {
        file: `${invalid}/host-limits/fixture-linux-2c/20261128T110000Z.json`,
        kind: 'bad-json',
        message: expect.stringMatching(/^is not valid JSON: /),
      },
    ]);
  });

  it('reports every schema error of one file with its field path', () => {
    const fields = problemsOf(tree.problems, '20261128T130000Z.json').map((p) => [p.kind, p.field]);
    expect(fields).toEqual([
      ['schema', 'schemaVersion'],
      ['schema', 'run.git.dirty'],
      ['schema', 'host.cpu.cores'],
      ['schema', 'host.tools'],
      ['schema', 'series[0].mean'],
      ['schema', 'series[2].samples[5]'],
    ]);
    const missing = problemsOf(tree.problems, '20261128T130000Z.json').find((p) => p.field === 'host.tools');
    expect(missing?.message).toBe('is required but missing');
  });

  it('reports a rig id, host id and startedAt that disagree with the path', () => {
    expect(problemsOf(tree.problems, '20261128T140000Z.json').map((p) => [p.kind, p.field, p.message])).toEqual([
      ['path-mismatch', 'rig.id', 'is "net-rr" but the file sits in rig directory "host-limits"'],
      ['path-mismatch', 'host.id', 'is "other-host" but the file sits in host directory "fixture-linux-2c"'],
      [
        'path-mismatch',
        'run.startedAt',
        'is 2026-11-28T14:30:00Z, which names the file 20261128T143000Z.json, but the file is 20261128T140000Z.json',
      ],
    ]);
  });

  it('reports stray files and directories at every level', () => {
    const stray = tree.problems.filter((p) => p.kind === 'stray').map((p) => p.file.slice(invalid.length + 1));
    expect(stray).toEqual([
      'Bad Rig',
      'host-limits/README.md',
      'host-limits/fixture-linux-2c/2026-11-28.json',
      'host-limits/fixture-linux-2c/nested',
      'host-limits/fixture-linux-2c/notes.txt',
      'stray.json',
    ]);
  });

  it('assertNoProblems throws one error listing them all', () => {
    let thrown: unknown;
    try {
      assertNoProblems(tree.problems);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ResultsTreeError);
    const error = thrown as ResultsTreeError;
    expect(error.problems).toHaveLength(16);
    expect(error.message.split('\n')).toHaveLength(17);
    expect(error.message).toMatch(/^16 problems in the results tree:/);
    expect(error.message).toContain(
      `${invalid}/host-limits/fixture-linux-2c/20261128T130000Z.json: series[2].samples[5]: Invalid input: expected number, received string`,
    );
    expect(error.message).toContain(`${invalid}/stray.json: is a file where a rig directory belongs`);
  });
});

describe('loadResultsTree edge cases', () => {
  it('treats a missing results directory as an empty tree', () => {
    expect(loadResultsTree('does/not/exist', { repoRoot: tempTree() })).toEqual({ results: [], problems: [] });
  });

  it('reports a results root that is a file', () => {
    const root = tempTree();
    writeFileSync(path.join(root, 'results'), '');
    expect(loadResultsTree('results', { repoRoot: root }).problems).toEqual([
      { file: 'results', kind: 'stray', message: 'is not a directory (the results root must be one)' },
    ]);
  });

  it('accepts a file of exactly 2 MB and reports one a byte over, still validating it', () => {
    const root = tempTree();
    const dir = path.join(root, 'results/host-limits/fixture-linux-2c');
    mkdirSync(dir, { recursive: true });
    const text = readFileSync(goodFile, 'utf8').trimEnd();
    // Trailing whitespace keeps the JSON valid while setting the exact size.
    writeFileSync(path.join(dir, '20261128T100000Z.json'), text.padEnd(RESULT_FILE_MAX_BYTES, ' '));
    const broken = text.replace('"schemaVersion": 1', '"schemaVersion": 7');
    writeFileSync(path.join(dir, '20261128T100001Z.json'), broken.padEnd(RESULT_FILE_MAX_BYTES + 1, ' '));

    const tree = loadResultsTree('results', { repoRoot: root });
    expect(tree.results.map((r) => [r.path, r.size])).toEqual([
      ['results/host-limits/fixture-linux-2c/20261128T100000Z.json', RESULT_FILE_MAX_BYTES],
    ]);
    expect(tree.problems.map((p) => [p.file, p.kind, p.field])).toEqual([
      ['results/host-limits/fixture-linux-2c/20261128T100001Z.json', 'too-large', undefined],
      ['results/host-limits/fixture-linux-2c/20261128T100001Z.json', 'schema', 'schemaVersion'],
      ['results/host-limits/fixture-linux-2c/20261128T100001Z.json', 'path-mismatch', 'run.startedAt'],
    ]);
    expect(tree.problems[0]!.message).toBe(
      `is ${RESULT_FILE_MAX_BYTES + 1} bytes, over the ${RESULT_FILE_MAX_BYTES}-byte (2 MB) limit for a result file`,
    );
  });

  it('reports a symbolic link instead of following it', () => {
    const root = tempTree();
    const dir = path.join(root, 'results/host-limits/fixture-linux-2c');
    mkdirSync(dir, { recursive: true });
    symlinkSync(goodFile, path.join(dir, '20261128T100000Z.json'));
    const tree = loadResultsTree('results', { repoRoot: root });
    expect(tree.results).toEqual([]);
    expect(tree.problems.map((p) => [p.kind, p.message.split(' (')[0]])).toEqual([
      ['stray', 'is a symbolic link that does not belong in the results tree'],
    ]);
  });
});

describe('newestPerRigHost', () => {
  const at = (rig: string, host: string, startedAt: string, file: string): LoadedResult =>
    ({
      path: file,
      size: 1,
      data: { rig: { id: rig }, host: { id: host }, run: { startedAt } },
    }) as unknown as LoadedResult;

  it('compares instants, not strings, and breaks a tie by the later path', () => {
    const picked = newestPerRigHost([
      at('r', 'h', '2026-11-28T10:00:00.9Z', 'a'),
      at('r', 'h', '2026-11-28T10:00:01Z', 'b'),
      at('r', 'h2', '2026-11-28T10:00:00Z', 'c'),
      at('r', 'h2', '2026-11-28T10:00:00.000Z', 'd'),
      at('a', 'h', '2020-01-01T00:00:00Z', 'e'),
    ]);
    expect(picked.map((r) => r.path)).toEqual(['e', 'b', 'd']);
  });

  it('returns nothing for no results', () => {
    expect(newestPerRigHost([])).toEqual([]);
  });
});

describe('helpers', () => {
  it('formats field paths the way the problems print them', () => {
    expect(formatFieldPath(['series', 2, 'samples', 5])).toBe('series[2].samples[5]');
    expect(formatFieldPath(['host', 'facts', 'kern.ident'])).toBe('host.facts["kern.ident"]');
    expect(formatFieldPath([])).toBe('');
  });

  it('names a result file by its startedAt, to the second', () => {
    expect(startedAtStamp('2026-11-28T19:51:02.123Z')).toBe('20261128T195102Z');
    expect(resultFileRelativePath('host-limits', 'h1', '2026-11-28T19:51:02Z')).toBe(
      'host-limits/h1/20261128T195102Z.json',
    );
    expect(() => startedAtStamp('2026-11-28 19:51:02')).toThrow(/not an ISO 8601 UTC timestamp/);
  });

  it('formats an empty problem list', () => {
    expect(formatProblems([])).toBe('no problems');
  });
});

describe('isoUtc (result timestamps)', () => {
  it('rejects impossible dates that Date.parse would roll over, accepts real ones', () => {
    for (const ok of ['2026-11-28T19:51:02Z', '2026-11-28T19:51:02.123Z', '2028-02-29T00:00:00Z']) {
      expect(isoUtc.safeParse(ok).success).toBe(true);
    }
    for (const bad of [
      '2026-02-30T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '2026-11-28T24:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-11-28T19:51:02+01:00',
    ]) {
      expect(isoUtc.safeParse(bad).success).toBe(false);
    }
  });
});
