import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  formatFieldPath,
  publishedReferenceSchema,
  resultFileSchema,
  rigManifestSchema,
  statName,
} from '../src/index.ts';

const validFile = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('fixtures/valid-tree/host-limits/fixture-linux-2c/20261128T100000Z.json', import.meta.url)),
    'utf8',
  ),
);

function issues(
  schema: {
    safeParse(v: unknown): { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } };
  },
  value: unknown,
) {
  const r = schema.safeParse(value);
  return r.success ? [] : r.error!.issues.map((i) => `${formatFieldPath(i.path)}: ${i.message}`);
}

describe('resultFileSchema', () => {
  it('accepts the valid fixture', () => {
    expect(issues(resultFileSchema, validFile)).toEqual([]);
  });

  it('rejects a finishedAt before startedAt and a failure index beyond the attempts', () => {
    const file = structuredClone(validFile);
    file.run.finishedAt = '2026-11-28T09:00:00Z';
    file.series[1].failures[0].index = 4; // 3 samples + 1 failure = 4 attempts: indices 0..3
    expect(issues(resultFileSchema, file)).toEqual([
      'run.finishedAt: is earlier than run.startedAt',
      'series[1].failures[0].index: is 4, beyond the 4 attempts of this series',
    ]);
  });

  it('rejects summaries in place of samples, an absolute script path and a non-slug metric', () => {
    const file = structuredClone(validFile);
    file.series[0].p50 = 0.22;
    file.rig.script = '/root/rig.ts';
    file.series[2].metric = 'Namespace RR';
    expect(issues(resultFileSchema, file)).toEqual([
      'rig.script: must be a repo-relative path',
      expect.stringMatching(/^series\[0\]: Unrecognized key: "p50"/),
      expect.stringMatching(/^series\[2\]\.metric: must be a lower-case slug/),
    ]);
  });
});

describe('rigManifestSchema', () => {
  const manifest = {
    id: 'fixture-rig',
    title: 'Fixture rig',
    summary: 'Test data only.',
    script: 'packages/rigs/src/rigs/fixture-rig/rig.ts',
    platforms: ['linux'],
    requirements: {},
    metrics: [{ name: 'rtt', unit: 'us', description: 'Round trip.', labels: { family: ['ipv4', 'ipv6'] } }],
    clock: 'From send to receive.',
    reproduce: 'npx coppice-rigs run fixture-rig',
    samples: { full: 200, quick: 20 },
  };

  it('fills requirement and check defaults', () => {
    const parsed = rigManifestSchema.parse(manifest);
    expect(parsed.requirements).toEqual({ root: false, binaries: {}, notes: [] });
    expect(parsed.checks).toEqual([]);
  });

  it('rejects a manifest without metrics or platforms', () => {
    expect(issues(rigManifestSchema, { ...manifest, metrics: [], platforms: [] }).map((i) => i.split(':')[0])).toEqual([
      'platforms',
      'metrics',
    ]);
  });
});

describe('publishedReferenceSchema', () => {
  it('requires a source URL, a YYYY-MM-DD date and at least one quoted figure', () => {
    expect(
      issues(publishedReferenceSchema, {
        id: 'x',
        system: 'X',
        source: 'not a url',
        date: '28/11/2026',
        host: 'h',
        figures: [],
      }).map((i) => i.split(':')[0]),
    ).toEqual(['source', 'date', 'figures']);
  });
});

describe('statName', () => {
  it('names exactly the statistics computeStat knows', () => {
    expect(statName.options).toEqual([
      'n',
      'mean',
      'median',
      'stddev',
      'min',
      'max',
      'p50',
      'p90',
      'p95',
      'p99',
      'mad',
    ]);
    expect(statName.safeParse('p999').success).toBe(false);
  });
});
