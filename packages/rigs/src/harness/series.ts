import type { RigManifest, Series } from '@coppice/results-schema';
import type { SeriesRecorder } from './rig-context.ts';

/** One series being recorded: raw samples and failed attempts, each failure at its attempt's position. */
class Recorder implements SeriesRecorder {
  readonly samples: number[] = [];
  readonly failures: { index: number; error: string }[] = [];

  constructor(readonly name: string) {}

  add(sample: number): void {
    if (typeof sample !== 'number' || !Number.isFinite(sample)) {
      throw new Error(`${this.name}: sample ${String(sample)} is not a finite number`);
    }
    this.samples.push(sample);
  }

  fail(error: unknown): void {
    this.failures.push({ index: this.count, error: errorMessage(error) });
  }

  get count(): number {
    return this.samples.length + this.failures.length;
  }
}

/** The series of one run, checked against the manifest: known metric, declared label keys, allowed values. */
export class SeriesSet {
  private readonly byKey = new Map<
    string,
    { metric: string; unit: string; labels: Record<string, string>; rec: Recorder }
  >();

  constructor(private readonly manifest: RigManifest) {}

  get(metric: string, labels: Record<string, string> = {}): SeriesRecorder {
    const def = this.manifest.metrics.find((m) => m.name === metric);
    if (!def) {
      const known = this.manifest.metrics.map((m) => m.name).join(', ');
      throw new Error(`rig ${this.manifest.id} has no metric "${metric}" in its manifest (known: ${known})`);
    }
    const declared = Object.keys(def.labels).sort();
    const given = Object.keys(labels).sort();
    if (declared.join('\0') !== given.join('\0')) {
      throw new Error(`metric ${metric} takes labels {${declared.join(', ')}}, got {${given.join(', ')}}`);
    }
    for (const key of declared) {
      const allowed = def.labels[key] as string[];
      if (!allowed.includes(labels[key] as string)) {
        throw new Error(`metric ${metric}: label ${key}="${labels[key]}" is not one of ${allowed.join(', ')}`);
      }
    }
    const sorted = Object.fromEntries(given.map((k) => [k, labels[k] as string]));
    const key = JSON.stringify([metric, sorted]);
    let entry = this.byKey.get(key);
    if (!entry) {
      const name = given.length ? `${metric}{${given.map((k) => `${k}=${sorted[k]}`).join(',')}}` : metric;
      entry = { metric, unit: def.unit, labels: sorted, rec: new Recorder(name) };
      this.byKey.set(key, entry);
    }
    return entry.rec;
  }

  /** Series in the order they were first asked for. */
  toSeries(): Series[] {
    return [...this.byKey.values()].map(({ metric, unit, labels, rec }) => ({
      metric,
      unit,
      labels,
      samples: [...rec.samples],
      failures: rec.failures.map((f) => ({ ...f })),
    }));
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
