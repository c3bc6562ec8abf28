import { describe, expect, it } from 'vitest';
import {
  claimsRegistrySchema,
  publishedReferenceSchema,
  resultFileSchema,
  rigManifestSchema,
  type LoadedResult,
  type RatioCell,
  type Row,
} from '@coppice/results-schema';
import { newestKey, type SiteData } from '../src/lib/data/site-data.ts';
import { resolveCell } from '../src/lib/claims/resolve.ts';
import { checkRegistry } from '../src/lib/validation/registry-check.ts';
import { formatRatio, formatTarget } from '../src/lib/format.ts';

/** Made-up manifests and result files for these tests only: hosts are "fixture-", nothing here is a measurement. */
const manifest = (id: string, metrics: Array<{ name: string; unit: string; labels?: Record<string, string[]> }>) =>
  rigManifestSchema.parse({
    id,
    title: `Test rig ${id}`,
    summary: 'A manifest for ratio tests.',
    script: `packages/rigs/src/rigs/${id}/rig.ts`,
    platforms: ['linux'],
    requirements: {},
    metrics: metrics.map((m) => ({ description: 'test metric', labels: {}, ...m })),
    checks: [],
    clock: 'from start to end',
    reproduce: 'run it',
    samples: { full: 10, quick: 2 },
  });
const pairRig = manifest('pair-rig', [
  { name: 'rtt', unit: 'us', labels: { family: ['ipv4', 'ipv6'] } },
  { name: 'bare-rtt', unit: 'us', labels: { family: ['ipv4', 'ipv6'] } },
  { name: 'spawn', unit: 'ms' },
]);
const floorRig = manifest('floor-rig', [{ name: 'floor', unit: 'us' }]);

function result(
  rig: string,
  host: string,
  startedAt: string,
  series: Array<{ metric: string; unit: string; labels?: Record<string, string>; samples: number[] }>,
): LoadedResult {
  const data = resultFileSchema.parse({
    schemaVersion: 1,
    rig: { id: rig, script: `packages/rigs/src/rigs/${rig}/rig.ts`, sourceSha256: 'a'.repeat(64) },
    run: {
      id: `fixture-${rig}`,
      startedAt,
      finishedAt: startedAt,
      git: { commit: '0'.repeat(40), dirty: false },
      command: 'fixture (test data)',
      params: {},
    },
    host: {
      id: host,
      platform: 'linux',
      os: 'Fixture OS (test data)',
      kernel: 'fixture 0.0',
      cpu: { model: 'Fixture CPU (test data)', cores: 2, threads: 2 },
      memoryBytes: 1024 ** 3,
      backend: { hypervisor: 'qemu', firewall: 'nftables' },
      facts: {},
      tools: {},
    },
    series: series.map((s) => ({ labels: {}, failures: [], ...s })),
  });
  const stamp = startedAt.replace(/[-:]/g, '');
  return { path: `benchmarks/results/${rig}/${host}/${stamp}.json`, data, size: 1 };
}

const HOST = 'fixture-host';
const pairResult = result('pair-rig', HOST, '2026-01-02T00:00:00Z', [
  { metric: 'rtt', unit: 'us', labels: { family: 'ipv4' }, samples: [30, 36, 40] },
  { metric: 'bare-rtt', unit: 'us', labels: { family: 'ipv4' }, samples: [25, 30, 35] },
  { metric: 'rtt', unit: 'us', labels: { family: 'ipv6' }, samples: [] },
  { metric: 'bare-rtt', unit: 'us', labels: { family: 'ipv6' }, samples: [0, 0, 0] },
  { metric: 'spawn', unit: 'ms', samples: [2, 3, 4] },
]);
const floorResult = result('floor-rig', HOST, '2026-01-01T00:00:00Z', [
  { metric: 'floor', unit: 'us', samples: [20, 24, 28] },
]);

function siteData(results: LoadedResult[], manifests = [pairRig, floorRig]): SiteData {
  const registry = claimsRegistrySchema.parse({
    sections: [
      { id: 's', title: 'S', columns: [{ id: 'c', header: 'C' }], rows: [{ id: 'r', label: 'R', cells: {} }] },
    ],
  });
  return {
    root: '/nonexistent',
    registry,
    results,
    newest: new Map(results.map((r) => [newestKey(r.data.rig.id, r.data.host.id), r])),
    hosts: [HOST],
    manifests,
    manifestById: new Map(manifests.map((m) => [m.id, m])),
    references: new Map(),
  };
}

const op = (rig: string, metric: string, labels: Record<string, string> = {}, stat: 'p50' | 'mean' = 'p50') => ({
  kind: 'measured' as const,
  rig,
  metric,
  labels,
  stat,
});
const ratioCell = (
  numerator: ReturnType<typeof op>,
  denominator: ReturnType<typeof op>,
  extra: Partial<RatioCell> = {},
): RatioCell => ({
  kind: 'ratio',
  numerator,
  denominator,
  sameRun: false,
  ...extra,
});
const row = (planned = false): Row => ({ id: 'r', label: 'R', planned, cells: {} });
const data = siteData([pairResult, floorResult]);
const resolve = (cell: RatioCell, d = data, r = row()) => resolveCell(d, r, cell, HOST);

describe('ratio cells resolved from result files', () => {
  it("divides the operands' statistics from one file and judges the target, its bound included", () => {
    const cell = ratioCell(op('pair-rig', 'rtt', { family: 'ipv4' }), op('pair-rig', 'bare-rtt', { family: 'ipv4' }), {
      sameRun: true,
      target: { max: 1.2 },
    });
    const r = resolve(cell);
    expect(r.kind).toBe('ratio');
    if (r.kind !== 'ratio') return;
    expect(r.value).toBe(36 / 30);
    expect(r.numerator.value).toBe(36);
    expect(r.denominator.value).toBe(30);
    expect(r.numerator.result).toBe(pairResult);
    expect(r.sameFile).toBe(true);
    expect(r.met).toBe(true);
    const missed = resolve({ ...cell, target: { max: 1.1 } });
    expect(missed.kind === 'ratio' && missed.met).toBe(false);
    const above = resolve({ ...cell, target: { min: 1.25 } });
    expect(above.kind === 'ratio' && above.met).toBe(false);
    const untargeted = resolve({ ...cell, target: undefined });
    expect(untargeted.kind === 'ratio' && untargeted.met).toBeUndefined();
  });

  it("takes operands from two rigs' newest files and says they are two runs, or dashes when one run is required", () => {
    const cell = ratioCell(op('pair-rig', 'rtt', { family: 'ipv4' }), op('floor-rig', 'floor'), {
      target: { max: 1.2 },
    });
    const r = resolve(cell);
    expect(r.kind).toBe('ratio');
    if (r.kind !== 'ratio') return;
    expect(r.value).toBe(36 / 24);
    expect(r.sameFile).toBe(false);
    expect(r.denominator.result).toBe(floorResult);
    expect(r.met).toBe(false);
    // The schema refuses sameRun across rigs; resolve still never passes two files off as one run.
    const strict = resolve({ ...cell, sameRun: true });
    expect(strict).toMatchObject({ kind: 'dash', rig: 'pair-rig' });
    expect(strict.kind === 'dash' && strict.reason).toContain(
      `two result files (${pairResult.path}, ${floorResult.path})`,
    );
  });

  it('is a dash, naming the operand, when either operand is one', () => {
    const noFloor = siteData([pairResult]);
    const missingDenominator = resolve(
      ratioCell(op('pair-rig', 'rtt', { family: 'ipv4' }), op('floor-rig', 'floor')),
      noFloor,
    );
    expect(missingDenominator).toMatchObject({
      kind: 'dash',
      rig: 'floor-rig',
      reason: 'denominator (floor-rig floor p50): not captured on this host yet',
    });
    const emptyNumerator = resolve(
      ratioCell(op('pair-rig', 'rtt', { family: 'ipv6' }), op('pair-rig', 'bare-rtt', { family: 'ipv4' })),
    );
    expect(emptyNumerator).toMatchObject({
      kind: 'dash',
      rig: 'pair-rig',
      reason: 'numerator (pair-rig rtt ipv6 p50): no successful samples (0 failed)',
    });
    const noSeries = resolve(ratioCell(op('floor-rig', 'floor'), op('pair-rig', 'rtt', { family: 'ipv9' })));
    expect(noSeries).toMatchObject({
      kind: 'dash',
      reason: 'denominator (pair-rig rtt ipv9 p50): the newest result has no such series',
    });
  });

  it('is a dash for a zero denominator or operands in different units, never a number', () => {
    expect(
      resolve(ratioCell(op('pair-rig', 'rtt', { family: 'ipv4' }), op('pair-rig', 'bare-rtt', { family: 'ipv6' }))),
    ).toMatchObject({
      kind: 'dash',
      reason: 'denominator (pair-rig bare-rtt ipv6 p50) is 0',
    });
    expect(resolve(ratioCell(op('pair-rig', 'rtt', { family: 'ipv4' }), op('pair-rig', 'spawn')))).toMatchObject({
      kind: 'dash',
      reason: "the operands' units differ (us, ms)",
    });
  });

  it('says "rig not written yet" on a planned row whose operand rig has no manifest, a dash on a row not planned', () => {
    const cell = ratioCell(op('pair-rig', 'rtt', { family: 'ipv4' }), op('future-rig', 'floor'));
    expect(resolve(cell, data, { ...row(true), cells: { c: cell } })).toEqual({
      kind: 'not-written',
      rig: 'future-rig',
    });
    expect(resolve(cell, data, { ...row(false), cells: { c: cell } })).toMatchObject({
      kind: 'dash',
      rig: 'future-rig',
    });
  });
});

describe('targets on measured cells', () => {
  it("judges the statistic against its bound in the series' unit", () => {
    const cell = { ...op('pair-rig', 'spawn'), target: { max: 3 } };
    expect(resolveCell(data, row(), cell, HOST)).toMatchObject({ kind: 'value', value: 3, met: true });
    expect(resolveCell(data, row(), { ...cell, target: { max: 2.9 } }, HOST)).toMatchObject({
      kind: 'value',
      met: false,
    });
    expect(resolveCell(data, row(), op('pair-rig', 'spawn'), HOST)).not.toHaveProperty('met', expect.anything());
  });
});

describe('ratio formatting', () => {
  it.each([
    [1.0234, undefined, '1.02×'],
    [1, undefined, '1.00×'],
    [0.0712, undefined, '0.07×'],
    [3.6, undefined, '3.60×'],
    [12.345, undefined, '12.3×'],
    [1234.5, undefined, '1\u202f235×'],
    [1.2, { max: 1.2 }, '1.20×'],
    [1.204, { max: 1.2 }, '1.204×'],
    [1.2001, { max: 1.2 }, '1.2001×'],
    [0.896, { min: 0.9 }, '0.896×'],
  ])('shows %s (target %j) as %s', (value, target, text) => {
    expect(formatRatio(value, target)).toBe(text);
  });

  it('states targets as bounds', () => {
    expect(formatTarget({ max: 1.2 })).toBe('≤\u202f1.2×');
    expect(formatTarget({ min: 0.5 })).toBe('≥\u202f0.5×');
    expect(formatTarget({ min: 0.9, max: 1.2 })).toBe('0.9–1.2×');
    expect(formatTarget({ max: 25 }, 'ms')).toBe('≤\u202f25\u202fms');
    expect(formatTarget({ max: 40 }, 'us')).toBe('≤\u202f40\u202fµs');
  });
});

describe('ratio cells in registry validation', () => {
  const ref = publishedReferenceSchema.parse({
    id: 'someone',
    system: 'S',
    source: 'https://example.org/b',
    date: '2026-01-01',
    host: 'h',
    figures: [{ id: 'f', what: 'w', quoted: 'q' }],
  });
  const registryWith = (cell: unknown, note?: string) => ({
    sections: [
      {
        id: 'sec',
        title: 'Section',
        columns: [{ id: 'a', header: 'A' }],
        rows: [{ id: 'row', label: 'Row', cells: { a: cell }, ...(note ? { note } : {}) }],
      },
    ],
  });
  const check = (input: unknown) => checkRegistry(input, [pairRig, floorRig], [ref]);

  it('accepts operands the manifests have, and a placeholder naming the ratio', () => {
    const cell = ratioCell(op('pair-rig', 'rtt', { family: 'ipv4' }), op('floor-rig', 'floor'), {
      target: { max: 1.2 },
    });
    expect(check(registryWith(cell, 'Ratio: {cell:sec.row.a}.')).problems).toEqual([]);
  });

  it('checks both operands as measured cells, naming the operand', () => {
    const { problems } = check(
      registryWith(ratioCell(op('pair-rig', 'rtt', { family: 'ipv4' }), op('floor-rig', 'ceiling'))),
    );
    expect(problems.map((p) => [p.field, p.message])).toEqual([
      [
        'sections[sec].rows[row].cells[a].denominator.metric',
        'rig "floor-rig" has no metric "ceiling" (it has: floor)',
      ],
    ]);
    const labels = check(registryWith(ratioCell(op('pair-rig', 'rtt'), op('no-rig', 'floor')))).problems;
    expect(labels.map((p) => p.field)).toEqual([
      'sections[sec].rows[row].cells[a].numerator.labels',
      'sections[sec].rows[row].cells[a].denominator.rig',
    ]);
  });

  it('rejects operands in different units and sameRun across rigs', () => {
    const units = check(
      registryWith(ratioCell(op('pair-rig', 'rtt', { family: 'ipv4' }), op('pair-rig', 'spawn'))),
    ).problems;
    expect(units.map((p) => [p.field, p.message])).toEqual([
      ['sections[sec].rows[row].cells[a]', "divides us by ms: a ratio's operands need one unit, so the ratio has none"],
    ]);
    const runs = check(
      registryWith(ratioCell(op('pair-rig', 'rtt', { family: 'ipv4' }), op('floor-rig', 'floor'), { sameRun: true })),
    );
    expect(runs.registry).toBeUndefined();
    expect(runs.problems.map((p) => p.field)).toEqual(['sections[0].rows[0].cells.a.sameRun']);
  });
});
