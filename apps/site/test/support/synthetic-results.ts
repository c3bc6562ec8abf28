/**
 * SYNTHETIC TEST DATA GENERATOR. Writes made-up result files for tests and the build-time budget, always into a
 * folder the caller names (a temporary folder), never into benchmarks/results. Every file it writes says so: host
 * ids start with "synthetic-", the command and the host facts say "synthetic", and the samples come from a seeded
 * pseudo-random generator. Nothing here is a measurement, and a normal build never reads it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  mulberry32,
  resultFileRelativePath,
  resultFileSchema,
  type ResultFile,
  type RigManifest,
  type Series,
} from '@coppice/results-schema';

export interface SyntheticOptions {
  /** Total number of files to write, spread over rigs and hosts (at least one per rig and host). */
  files?: number;
  hosts?: readonly string[];
  /** Samples per series, or 'manifest' for each rig's declared full count (what a real run records). */
  samples?: number | 'manifest';
  seed?: number;
  /** Rigs to generate for (default: all the manifests given). */
  manifests: readonly RigManifest[];
  /** Hosts (by id) to give a failing check, to exercise the fail styling. */
  failingChecksOn?: readonly string[];
  /** Series to leave out (so a page has dashes to check). */
  dropSeries?: (host: string, manifest: RigManifest, metric: string, labels: Record<string, string>) => boolean;
}

export interface SyntheticTree {
  dir: string;
  /** Paths relative to `dir`. */
  files: string[];
}

/** Every combination of a metric's label values: { cc: [1, 10], config: [a] } → [{cc:1,config:a}, {cc:10,config:a}]. */
export function labelCombinations(labels: Record<string, readonly string[]>): Record<string, string>[] {
  let combos: Record<string, string>[] = [{}];
  for (const [key, values] of Object.entries(labels)) {
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  }
  return combos;
}

const BASE_BY_UNIT: Record<string, number> = { ms: 12, us: 35, MiB: 40, 'Gbit/s': 9, 'Mbit/s': 98 };

export function writeSyntheticResults(dir: string, options: SyntheticOptions): SyntheticTree {
  const hosts = options.hosts ?? ['synthetic-a', 'synthetic-b'];
  const manifests = options.manifests;
  const total = Math.max(options.files ?? manifests.length * hosts.length, manifests.length * hosts.length);
  const random = mulberry32(options.seed ?? 7);
  const written: string[] = [];
  const start = Date.parse('2026-01-01T00:00:00Z');

  for (let i = 0; i < total; i++) {
    const manifest = manifests[i % manifests.length]!;
    const hostIndex = Math.floor(i / manifests.length) % hosts.length;
    const host = hosts[hostIndex]!;
    const run = Math.floor(i / (manifests.length * hosts.length));
    // One minute per file, so every file has its own stamp.
    const startedAt = new Date(start + i * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const finishedAt = new Date(start + i * 60_000 + 30_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const hostScale = 1 + hostIndex * 0.25;
    const perSeries = options.samples === 'manifest' ? manifest.samples.full : (options.samples ?? 40);
    let seriesCount = 0;

    const series: Series[] = manifest.metrics.flatMap((metric) =>
      labelCombinations(metric.labels)
        .filter((labels) => !options.dropSeries?.(host, manifest, metric.name, labels))
        .map((labels, k) => {
          const base = (BASE_BY_UNIT[metric.unit] ?? 10) * hostScale * (1 + k * 0.6);
          const samples = Array.from({ length: perSeries }, () => {
            // Log-normal-ish noise: most samples near the base, a tail above it.
            const u = Math.max(1e-9, random());
            return Number(
              (base * Math.exp(0.25 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random()))).toFixed(4),
            );
          });
          const failures =
            seriesCount++ % 3 === 1
              ? [{ index: perSeries, error: 'synthetic failure: probe timed out (test data)' }]
              : [];
          return { metric: metric.name, unit: metric.unit, labels, samples, failures };
        }),
    );
    const failing = options.failingChecksOn?.includes(host) ?? false;
    const file: ResultFile = {
      schemaVersion: 1,
      rig: { id: manifest.id, script: manifest.script, sourceSha256: 'a'.repeat(64) },
      run: {
        id: `synthetic-${i}`,
        startedAt,
        finishedAt,
        git: { commit: '0'.repeat(40), dirty: false },
        command: `synthetic generator (test data, not a measurement): ${manifest.id} run ${run}`,
        params: { synthetic: true, samples: perSeries },
      },
      host: {
        id: host,
        platform: 'linux',
        os: 'Synthetic OS (test data)',
        kernel: 'synthetic 0.0',
        cpu: {
          model: `Synthetic CPU ${hostIndex + 1} (test data)`,
          cores: 2 + hostIndex * 6,
          threads: 2 + hostIndex * 14,
        },
        memoryBytes: (8 + hostIndex * 24) * 1024 ** 3,
        backend: { hypervisor: 'qemu', firewall: 'nftables' },
        facts: { synthetic: 'yes: generated test data, not a measurement' },
        tools: { generator: 'apps/site/test/support/synthetic-results.ts' },
      },
      series,
      ...(manifest.checks.length > 0
        ? {
            checks: manifest.checks.map((name) => ({
              name,
              ok: !failing,
              detail: failing
                ? `synthetic: 3 of 50 left behind (test data)`
                : `synthetic: 0 of 50 left behind (test data)`,
            })),
          }
        : {}),
    };
    resultFileSchema.parse(file);
    const rel = resultFileRelativePath(manifest.id, host, startedAt);
    mkdirSync(join(dir, manifest.id, host), { recursive: true });
    writeFileSync(join(dir, rel), `${JSON.stringify(file, null, 2)}\n`);
    written.push(rel);
  }
  return { dir, files: written };
}
