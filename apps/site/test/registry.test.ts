import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publishedReferenceSchema, rigManifestSchema, type ClaimsRegistryInput } from '@coppice/results-schema';
import { manifests } from '@coppice/rigs/manifests';
import { registry } from '../src/claims/registry.ts';
import { checkRegistry } from '../src/lib/validation/registry-check.ts';
import { findTypedFigures } from '../src/lib/validation/prose-figures.ts';
import { scanPageSources } from '../src/lib/data/site-data.ts';
import { loadReferences } from '../src/lib/data/references.ts';
import { repoRoot, referencesDir } from '../src/lib/data/paths.ts';

const testRig = rigManifestSchema.parse({
  id: 'test-rig',
  title: 'Test rig',
  summary: 'A manifest for registry tests.',
  script: 'packages/rigs/src/rigs/test-rig/rig.ts',
  platforms: ['linux'],
  requirements: {},
  metrics: [
    { name: 'latency', unit: 'ms', description: 'a latency', labels: { cc: ['1', '10'] } },
    { name: 'plain', unit: 'us', description: 'no labels', labels: {} },
  ],
  checks: ['leaked'],
  clock: 'from start to end',
  reproduce: 'run it',
  samples: { full: 10, quick: 2 },
});
const testRef = publishedReferenceSchema.parse({
  id: 'someone',
  system: 'Someone else',
  source: 'https://example.org/bench',
  date: '2026-01-01',
  host: 'their host',
  figures: [{ id: 'fast', what: 'a figure', quoted: '5 ms' }],
});

/** A one-section registry around `row` (cells in columns a and b). */
function registryWith(row: Record<string, unknown>, extra: Partial<ClaimsRegistryInput> = {}): unknown {
  return {
    sections: [
      {
        id: 'sec',
        title: 'Section',
        columns: [
          { id: 'a', header: 'A' },
          { id: 'b', header: 'B' },
        ],
        rows: [{ id: 'row', label: 'Row', ...row }],
      },
    ],
    ...extra,
  };
}
const check = (input: unknown) => checkRegistry(input, [testRig], [testRef]);
const measured = (over: Record<string, unknown> = {}) => ({
  kind: 'measured',
  rig: 'test-rig',
  metric: 'latency',
  labels: { cc: '1' },
  stat: 'mean',
  ...over,
});

describe('the real registry', () => {
  it('validates against the real rig manifests and published references', () => {
    const refs = loadReferences(referencesDir(), repoRoot());
    expect(refs.problems).toEqual([]);
    const result = checkRegistry(
      registry,
      manifests,
      refs.references.map((r) => r.reference),
    );
    expect(result.problems).toEqual([]);
    const ids = result.registry!.sections.map((s) => s.id);
    expect(ids).toEqual([
      'host',
      'targets',
      'cold-start',
      'density',
      'density-breakdown',
      'network',
      'lifecycle',
      'e2b-latency',
      'e2b',
      'kernel-patches',
      'floors',
    ]);
    expect(result.registry!.notOnThisPage.length).toBeGreaterThan(0);
  });

  it("shows every part of the density rig's per-VM breakdown, shared and private, and its host Δ/PSS check", () => {
    const density = manifests.find((m) => m.id === 'density')!;
    const parts = density.metrics.map((m) => m.name).filter((n) => n.startsWith('vm-'));
    expect(parts.length).toBeGreaterThanOrEqual(6);
    const rows = registry.sections.find((s) => s.id === 'density-breakdown')!.rows;
    const bound = rows
      .flatMap((r) => Object.values(r.cells))
      .map((c) => (c.kind === 'measured' ? `${c.metric} ${c.labels?.sharing}` : c.kind));
    expect(bound.sort()).toEqual(parts.flatMap((p) => [`${p} none`, `${p} template`]).sort());
    const agreement = registry.sections.find((s) => s.id === 'density')!.rows.find((r) => r.id === 'agreement')!;
    expect(Object.values(agreement.cells)).toEqual([{ kind: 'check', rig: 'density', check: density.checks[0] }]);
  });

  it('has no figure typed into the page sources', () => {
    expect(scanPageSources(repoRoot())).toEqual([]);
  });
});

describe('registry validation', () => {
  it('accepts a well-formed cell', () => {
    expect(
      check(registryWith({ cells: { a: measured(), b: { kind: 'reference', reference: 'someone', figure: 'fast' } } }))
        .problems,
    ).toEqual([]);
  });

  it('rejects a cell naming an unknown rig, naming the field', () => {
    const { problems } = check(registryWith({ cells: { a: measured({ rig: 'no-such-rig' }) } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.file).toBe('apps/site/src/claims/registry.ts');
    expect(problems[0]!.field).toBe('sections[sec].rows[row].cells[a].rig');
    expect(problems[0]!.message).toContain('"no-such-rig"');
  });

  it('accepts an unknown rig only on a planned row, and checks a planned row once its manifest exists', () => {
    expect(
      check(registryWith({ planned: true, rig: 'future-rig', cells: { a: measured({ rig: 'future-rig' }) } })).problems,
    ).toEqual([]);
    const { problems } = check(registryWith({ planned: true, cells: { a: measured({ metric: 'nope' }) } }));
    expect(problems.map((p) => p.field)).toEqual(['sections[sec].rows[row].cells[a].metric']);
  });

  it('rejects an unknown metric', () => {
    const { problems } = check(registryWith({ cells: { a: measured({ metric: 'throughput' }) } }));
    expect(problems.map((p) => [p.field, p.message])).toEqual([
      ['sections[sec].rows[row].cells[a].metric', 'rig "test-rig" has no metric "throughput" (it has: latency, plain)'],
    ]);
  });

  it('rejects an unknown label key, an unknown label value, and a missing label', () => {
    expect(
      check(registryWith({ cells: { a: measured({ labels: { cc: '1', family: 'ipv4' } }) } })).problems.map(
        (p) => p.field,
      ),
    ).toEqual(['sections[sec].rows[row].cells[a].labels.family']);
    const bad = check(registryWith({ cells: { a: measured({ labels: { cc: '50' } }) } })).problems;
    expect(bad.map((p) => p.message)).toEqual([
      '"50" is not a value of label "cc" of metric "latency" (values: 1, 10)',
    ]);
    const missing = check(registryWith({ cells: { a: measured({ labels: {} }) } })).problems;
    expect(missing.map((p) => p.message)).toEqual([
      'misses label "cc" of metric "latency": a cell names exactly one series',
    ]);
  });

  it('rejects an unknown statistic through the schema', () => {
    const { problems, registry: parsed } = check(registryWith({ cells: { a: measured({ stat: 'p999' }) } }));
    expect(parsed).toBeUndefined();
    expect(problems[0]!.field).toBe('sections[0].rows[0].cells.a.stat');
  });

  it('rejects an unknown check, reference or figure', () => {
    expect(
      check(registryWith({ cells: { a: { kind: 'check', rig: 'test-rig', check: 'leak' } } })).problems.map(
        (p) => p.field,
      ),
    ).toEqual(['sections[sec].rows[row].cells[a].check']);
    expect(
      check(registryWith({ cells: { a: { kind: 'reference', reference: 'nobody', figure: 'fast' } } })).problems.map(
        (p) => p.field,
      ),
    ).toEqual(['sections[sec].rows[row].cells[a].reference']);
    expect(
      check(registryWith({ cells: { a: { kind: 'reference', reference: 'someone', figure: 'slow' } } })).problems.map(
        (p) => p.field,
      ),
    ).toEqual(['sections[sec].rows[row].cells[a].figure']);
  });

  it('rejects a cell in a column the section does not have', () => {
    const { problems } = check(registryWith({ cells: { z: measured() } }));
    expect(problems[0]!.message).toContain('names column "z"');
  });

  it('rejects a figure typed by hand into prose, wherever the prose is', () => {
    const typed = check(registryWith({ cells: { a: measured() }, note: 'Checkout takes 21.5 ms here.' })).problems;
    expect(typed.map((p) => p.field)).toEqual(['sections[sec].rows[row].note']);
    expect(typed[0]!.message).toContain('"21.5 ms"');
    const inLabel = check(registryWith({ label: 'Per VM: 9 MiB', cells: {} })).problems;
    expect(inLabel.map((p) => p.field)).toEqual(['sections[sec].rows[row].label']);
    const inList = check(
      registryWith({ cells: {} }, { notOnThisPage: ['We fit 1 000 guests in 9 117 MiB.'] }),
    ).problems;
    expect(inList.map((p) => p.field)).toEqual(['notOnThisPage[0]']);
    const inText = check(registryWith({ cells: { b: { kind: 'text', text: 'about 84% of v4' } } })).problems;
    expect(inText.map((p) => p.field)).toEqual(['sections[sec].rows[row].cells[b].text']);
  });

  it('accepts figures bound by placeholders and stated givens, and rejects a placeholder naming no cell', () => {
    const ok = check(
      registryWith({ cells: { a: measured() }, note: 'Guests of {given:256 MiB}; the mean is {cell:sec.row.a}.' }),
    );
    expect(ok.problems).toEqual([]);
    const dangling = check(registryWith({ cells: { a: measured() }, note: 'See {cell:sec.row.b}.' })).problems;
    expect(dangling.map((p) => p.message)).toEqual([
      'placeholder {cell:sec.row.b} names no cell (expected section.row.column)',
    ]);
  });
});

describe('figure detection', () => {
  it.each([
    ['took 4.2 ms wall', ['4.2 ms']],
    ['~25 MB per VM', ['~25 MB']],
    ['14.6 Gbit/s on one stream', ['14.6 Gbit/s']],
    ['from 1 565 ms up', ['1 565 ms']],
    ['5–10 µs typical', ['5–10 µs']],
    ['a 10× gap', ['10×']],
    ['84% of v4', ['84%']],
  ])('finds the figure in %j', (text, figures) => {
    expect(findTypedFigures(text)).toEqual(figures);
  });

  it.each([
    'N=1000 at cc=50, p99 over IPv6',
    '1 stream and 16 streams on 2 vCPU',
    'x = 42 persists',
    '0 / 50 leaked',
    '1 000 × {given:256 MiB}',
    '{cell:a.b.c} total',
  ])('finds no figure in %j', (text) => {
    expect(findTypedFigures(text)).toEqual([]);
  });
});

describe('page source scan', () => {
  const root = mkdtempSync(join(tmpdir(), 'coppice-site-scan-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('flags a figure typed into an .astro page, but not one in an expression, attribute or style', () => {
    mkdirSync(join(root, 'apps/site/src/pages'), { recursive: true });
    writeFileSync(
      join(root, 'apps/site/src/pages/bad.astro'),
      '---\nconst x = "9 ms";\n---\n<p style="width: 50%">Checkout is {x} and release takes 308 ms.</p>\n<style>p { transition: 2s; }</style>\n',
    );
    const problems = scanPageSources(root);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.file).toBe('apps/site/src/pages/bad.astro');
    expect(problems[0]!.message).toContain('"308 ms"');
  });
});
