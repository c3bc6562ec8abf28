import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parseHTML } from 'linkedom';
import { manifests } from '@coppice/rigs/manifests';
import { statDefinitions } from '@coppice/results-schema';
import { astroBuild } from './support/astro-build.ts';
import { writeSyntheticResults } from './support/synthetic-results.ts';
import { repoRoot } from '../src/lib/data/paths.ts';

const site = inject('fixtureSite');
const results = inject('fixtureResults');
const files = inject('fixtureFiles');

function htmlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? htmlFiles(join(dir, e.name)) : e.name.endsWith('.html') ? [join(dir, e.name)] : [],
  );
}
const page = (path: string) => readFileSync(join(site, path, 'index.html'), 'utf8');

describe('astro build over a fixture results tree', () => {
  it('writes a page and a byte-identical raw JSON file for every result file', () => {
    for (const rel of files) {
      const [rig, host, name] = rel.split('/');
      const stamp = name!.replace(/\.json$/, '');
      expect(existsSync(join(site, 'results', rig!, host!, stamp, 'index.html')), rel).toBe(true);
      expect(readFileSync(join(site, 'raw', rig!, host!, `${stamp}.json`), 'utf8')).toBe(
        readFileSync(join(results, rel), 'utf8'),
      );
    }
  });

  it('writes the claims pages, a compare page, rig pages and the methodology', () => {
    expect(page('')).toContain('data-host="synthetic-a"');
    expect(page('hosts/synthetic-b')).toContain('data-host="synthetic-b"');
    expect(existsSync(join(site, 'compare', 'synthetic-a--synthetic-b', 'index.html'))).toBe(true);
    for (const m of manifests) {
      const rigPage = page(`rigs/${m.id}`);
      expect(rigPage).toContain(`data-reproduce>${m.reproduce.replaceAll('&', '&amp;')}`);
      // The rig's source is inlined when it is in the checkout.
      if (existsSync(join(repoRoot(), m.script))) expect(rigPage).toContain(`data-source="${m.script}"`);
    }
    expect(page('methodology')).toContain(statDefinitions.p99.reliability.split(':')[0]!);
  });

  it('ships no client JavaScript', () => {
    for (const file of htmlFiles(site)) expect(readFileSync(file, 'utf8'), file).not.toMatch(/<script\b/i);
    expect(readdirSync(join(site, '_astro')).filter((f) => f.endsWith('.js'))).toEqual([]);
  });

  it("renders each ratio as its operands' quotient, linking both result files and judging the target", () => {
    const { document } = parseHTML(page(''));
    const ratios = Array.from(document.querySelectorAll('#targets .ratio[data-ratio]'));
    expect(ratios.length).toBeGreaterThan(5);
    let acrossRuns = 0;
    for (const el of ratios) {
      const operands = Array.from(el.querySelectorAll('.operands a.measure[data-value]'));
      expect(operands).toHaveLength(2);
      const [top, bottom] = operands.map((a) => ({
        value: Number(a.getAttribute('data-value')),
        result: a.getAttribute('data-result')!,
        href: a.getAttribute('href')!,
      }));
      expect(Number(el.getAttribute('data-ratio'))).toBeCloseTo(top!.value / bottom!.value, 12);
      expect(top!.href).toMatch(/^\/results\//);
      expect(bottom!.href).toMatch(/^\/results\//);
      const same = top!.result === bottom!.result;
      expect(el.getAttribute('data-same-run')).toBe(String(same));
      expect(el.querySelector('.operands')!.textContent).toContain(same ? 'same run' : 'across two runs');
      if (!same) acrossRuns++;
      const max = el.getAttribute('data-target-max');
      if (max !== null) {
        const verdict = Number(el.getAttribute('data-ratio')) <= Number(max) ? 'met' : 'missed';
        expect(el.getAttribute('data-verdict')).toBe(verdict);
        expect(el.querySelector('.target')!.textContent).toBe(`≤\u202f${max}×: ${verdict}`);
      } else {
        expect(el.querySelector('.target')).toBeNull();
      }
    }
    expect(acrossRuns).toBeGreaterThan(0);
    // The network notes bind the ratios too.
    expect(document.querySelector('#network tr[data-row="rr-p50"] .note .ratio[data-ratio]')).not.toBeNull();
  });

  it("judges a measured cell with a target against its value, stating the bound in the series' unit", () => {
    const { document } = parseHTML(page(''));
    const cell = document.querySelector('#lifecycle tr[data-row="checkout"] td:nth-of-type(2)')!;
    const value = Number(cell.querySelector('a.measure')!.getAttribute('data-value'));
    const target = cell.querySelector('.target')!;
    const verdict = value <= Number(target.getAttribute('data-target-max')) ? 'met' : 'missed';
    expect(target.getAttribute('data-verdict')).toBe(verdict);
    expect(target.textContent).toBe(`≤\u202f25\u202fms: ${verdict}`);
    // A cell without a target shows no verdict.
    expect(document.querySelector('#lifecycle tr[data-row="checkout"] td:nth-of-type(1) .target')).toBeNull();
  });

  it('shows a dash naming the missing operand where a ratio lacks one', () => {
    // Host b lacks each rig's last metric: every target whose operand is one of those shows a dash naming it.
    const { document } = parseHTML(page('hosts/synthetic-b'));
    const known = new Set(manifests.map((m) => m.id));
    const dashes = Array.from(document.querySelectorAll('#targets .dash')).filter((d) =>
      /^(numerator|denominator) \(.* the newest result has no such series$/.test(d.getAttribute('title') ?? ''),
    );
    expect(dashes.length).toBeGreaterThan(0);
    for (const dash of dashes) {
      const rig = dash.getAttribute('data-rig')!;
      expect(known.has(rig), rig).toBe(true);
      const last = manifests.find((m) => m.id === rig)!.metrics.at(-1)!.name;
      expect(dash.getAttribute('title')).toMatch(new RegExp(`^(numerator|denominator) \\(${rig} ${last} `));
    }
  });

  it('renders planned rows without a manifest as "rig not written yet", distinct from a dash', () => {
    const html = page('');
    const known = new Set(manifests.map((m) => m.id));
    const notWritten = [...html.matchAll(/data-rig="([^"]+)" data-status="not-written"/g)].map((m) => m[1]!);
    // Every planned row of today's registry has its rig; the rule still holds for any row added before its rig.
    for (const rig of notWritten) expect(known.has(rig), rig).toBe(false);
  });
});

describe('astro build failures', () => {
  const root = mkdtempSync(join(tmpdir(), 'coppice-site-bad-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('fails on an invalid result file, naming the file and the field', async () => {
    const tree = writeSyntheticResults(join(root, 'results'), {
      manifests: manifests.slice(0, 1),
      hosts: ['synthetic-a'],
      samples: 5,
    });
    const rel = tree.files[0]!;
    const json = JSON.parse(readFileSync(join(root, 'results', rel), 'utf8'));
    json.series[0].samples[1] = 'fast';
    delete json.host.cpu;
    writeFileSync(join(root, 'results', rel), JSON.stringify(json));
    const outcome = await astroBuild(join(root, 'results'), join(root, 'dist'));
    expect(outcome.code).not.toBe(0);
    expect(outcome.output).toContain(`${join(root, 'results', rel)}: series[0].samples[1]:`);
    expect(outcome.output).toContain(`${join(root, 'results', rel)}: host.cpu: is required but missing`);
    expect(existsSync(join(root, 'dist', 'index.html'))).toBe(false);
  });
});
