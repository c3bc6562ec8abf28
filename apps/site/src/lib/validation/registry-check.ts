import {
  claimsRegistrySchema,
  placeholderPattern,
  type Cell,
  type ClaimsRegistry,
  type PublishedReference,
  type RigManifest,
} from '@coppice/results-schema';
import { fieldPath, type Problem } from './problem.ts';
import { findTypedFigures } from './prose-figures.ts';

export const REGISTRY_FILE = 'apps/site/src/claims/registry.ts';

export interface RegistryCheck {
  registry: ClaimsRegistry | undefined;
  problems: Problem[];
}

/**
 * Validates the registry: its shape (zod), every cell against the rig manifests (rig, metric, the exact label keys
 * and allowed values, check names; both operands of a ratio, which must share a unit) and the published references,
 * every placeholder's target, and every piece of prose for figures typed by hand. A row marked `planned` may name a
 * rig that has no manifest yet; once the manifest exists the row is checked like any other.
 */
export function checkRegistry(
  input: unknown,
  manifests: readonly RigManifest[],
  references: readonly PublishedReference[],
  file = REGISTRY_FILE,
): RegistryCheck {
  const parsed = claimsRegistrySchema.safeParse(input);
  if (!parsed.success) {
    return {
      registry: undefined,
      problems: parsed.error.issues.map((i) => ({ file, field: fieldPath(i.path), message: i.message })),
    };
  }
  const registry = parsed.data;
  const problems: Problem[] = [];
  const add = (field: string, message: string) => problems.push({ file, field, message });
  const rigs = new Map(manifests.map((m) => [m.id, m]));
  const refs = new Map(references.map((r) => [r.id, r]));
  const knownRigs = () => [...rigs.keys()].sort().join(', ') || 'none';

  const checkRig = (field: string, rig: string, planned: boolean): RigManifest | undefined => {
    const manifest = rigs.get(rig);
    if (!manifest && !planned) {
      add(
        field,
        `names rig "${rig}", which has no manifest (known rigs: ${knownRigs()}); mark the row planned if the rig is not written yet`,
      );
    }
    return manifest;
  };

  const checkSeries = (field: string, manifest: RigManifest, metric: string, labels: Record<string, string>) => {
    const def = manifest.metrics.find((m) => m.name === metric);
    if (!def) {
      add(
        `${field}.metric`,
        `rig "${manifest.id}" has no metric "${metric}" (it has: ${manifest.metrics.map((m) => m.name).join(', ')})`,
      );
      return;
    }
    for (const [key, value] of Object.entries(labels)) {
      const allowed = def.labels[key];
      if (!allowed) {
        add(
          `${field}.labels.${key}`,
          `metric "${metric}" of rig "${manifest.id}" has no label "${key}" (labels: ${Object.keys(def.labels).join(', ') || 'none'})`,
        );
      } else if (!allowed.includes(value)) {
        add(
          `${field}.labels.${key}`,
          `"${value}" is not a value of label "${key}" of metric "${metric}" (values: ${allowed.join(', ')})`,
        );
      }
    }
    for (const key of Object.keys(def.labels)) {
      if (!(key in labels))
        add(`${field}.labels`, `misses label "${key}" of metric "${metric}": a cell names exactly one series`);
    }
  };

  const checkCell = (field: string, cell: Cell, planned: boolean) => {
    switch (cell.kind) {
      case 'measured': {
        const manifest = checkRig(`${field}.rig`, cell.rig, planned);
        if (manifest) checkSeries(field, manifest, cell.metric, cell.labels);
        break;
      }
      case 'ratio': {
        checkCell(`${field}.numerator`, cell.numerator, planned);
        checkCell(`${field}.denominator`, cell.denominator, planned);
        const unit = (m: { rig: string; metric: string }) =>
          rigs.get(m.rig)?.metrics.find((d) => d.name === m.metric)?.unit;
        const [top, bottom] = [unit(cell.numerator), unit(cell.denominator)];
        if (top !== undefined && bottom !== undefined && top !== bottom) {
          add(field, `divides ${top} by ${bottom}: a ratio's operands need one unit, so the ratio has none`);
        }
        break;
      }
      case 'check': {
        const manifest = checkRig(`${field}.rig`, cell.rig, planned);
        if (manifest && !manifest.checks.includes(cell.check)) {
          add(
            `${field}.check`,
            `rig "${cell.rig}" records no check "${cell.check}" (checks: ${manifest.checks.join(', ') || 'none'})`,
          );
        }
        break;
      }
      case 'reference': {
        const ref = refs.get(cell.reference);
        if (!ref) add(`${field}.reference`, `no published reference "${cell.reference}" in benchmarks/references/`);
        else if (!ref.figures.some((f) => f.id === cell.figure)) {
          add(`${field}.figure`, `reference "${cell.reference}" has no figure "${cell.figure}"`);
        }
        break;
      }
      case 'text':
        checkProse(`${field}.text`, cell.text);
        break;
      case 'host':
        break;
    }
  };

  const cellAt = (target: string): Cell | undefined => {
    const [sectionId, rowId, colId, ...rest] = target.split('.');
    if (rest.length > 0 || !sectionId || !rowId || !colId) return undefined;
    return registry.sections.find((s) => s.id === sectionId)?.rows.find((r) => r.id === rowId)?.cells[colId];
  };

  const checkProse = (field: string, text: string | undefined) => {
    if (!text) return;
    for (const figure of findTypedFigures(text)) {
      add(
        field,
        `has the figure "${figure}" typed by hand: bind it to a result with {cell:section.row.column}, or mark a configuration value with {given:...}`,
      );
    }
    for (const m of text.matchAll(new RegExp(placeholderPattern.source, 'g'))) {
      if (m[1] === 'cell') {
        const target = cellAt(m[2]!);
        if (!target) add(field, `placeholder {cell:${m[2]}} names no cell (expected section.row.column)`);
        else if (target.kind === 'text' || target.kind === 'host') {
          add(
            field,
            `placeholder {cell:${m[2]}} names a ${target.kind} cell; it must name a measured, ratio, check or reference cell`,
          );
        }
      }
    }
  };

  checkProse('intro', registry.intro);
  registry.notOnThisPage.forEach((t, i) => checkProse(`notOnThisPage[${i}]`, t));
  for (const section of registry.sections) {
    const s = `sections[${section.id}]`;
    checkProse(`${s}.title`, section.title);
    checkProse(`${s}.intro`, section.intro);
    section.notes.forEach((t, i) => checkProse(`${s}.notes[${i}]`, t));
    section.columns.forEach((c) => checkProse(`${s}.columns[${c.id}].header`, c.header));
    for (const row of section.rows) {
      const r = `${s}.rows[${row.id}]`;
      checkProse(`${r}.label`, row.label);
      checkProse(`${r}.note`, row.note);
      if (row.rig) checkRig(`${r}.rig`, row.rig, row.planned);
      for (const [col, cell] of Object.entries(row.cells)) checkCell(`${r}.cells[${col}]`, cell, row.planned);
    }
    if (section.chart) {
      const chart = section.chart;
      const c = `${s}.chart`;
      checkProse(`${c}.title`, chart.title);
      const manifest = checkRig(`${c}.rig`, chart.rig, chart.planned);
      if (manifest) {
        for (const value of chart.values)
          checkSeries(`${c}[${chart.by}=${value}]`, manifest, chart.metric, { ...chart.labels, [chart.by]: value });
      }
    }
  }
  return { registry, problems };
}
