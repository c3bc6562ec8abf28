import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { manifests } from '@coppice/rigs/manifests';
import { registry } from '../src/claims/registry.ts';
import { launchChromium } from './support/chromium.ts';
import { startLighthouse } from './support/lighthouse.ts';
import { serveStatic, type StaticServer } from './support/static-server.ts';

const site = inject('fixtureSite');
const claimsPages = ['/', '/hosts/synthetic-a/', '/hosts/synthetic-b/', '/compare/synthetic-a--synthetic-b/'];
const chartRigs = new Set(registry.sections.flatMap((s) => (s.chart ? [s.chart.rig] : [])));
const knownRigs = new Set(manifests.map((m) => m.id));

interface Measure {
  href: string;
  result: string;
  metric: string;
  labels: string;
  stat: string;
  value: string;
  n: string;
  flagged: boolean;
  flagNote: string;
  text: string;
}
interface Status {
  status: string;
  rig: string | undefined;
  text: string;
  value: string | undefined;
}
interface Cite {
  ref: string | undefined;
  value: string | undefined;
  link: string;
  source: string;
  target: number;
}
/** What a page shows, read once from the DOM. */
interface PageView {
  status: number;
  measures: Measure[];
  statuses: Status[];
  charts: { rig: string; status: string | undefined; svg: boolean }[];
  cites: Cite[];
  svgs: number;
  h1: boolean;
}

async function view(page: Page, url: string): Promise<PageView> {
  const response = await page.goto(url);
  return {
    status: response?.status() ?? 0,
    h1: await page.isVisible('h1'),
    measures: await page.$$eval('a.measure[data-value]', (els) =>
      els.map((e) => {
        const d = (e as HTMLElement).dataset;
        return {
          href: (e as HTMLAnchorElement).href,
          result: d.result!,
          metric: d.metric!,
          labels: d.labels!,
          stat: d.stat!,
          value: d.value!,
          n: d.n ?? '',
          flagged: d.flagged === 'true',
          flagNote: e.parentElement?.querySelector('.flag-note')?.textContent ?? '',
          text: e.textContent!.trim(),
        };
      }),
    ),
    statuses: await page.$$eval('[data-status]', (els) =>
      els.map((e) => {
        const d = (e as HTMLElement).dataset;
        return { status: d.status!, rig: d.rig, text: e.textContent!.trim(), value: d.value };
      }),
    ),
    charts: await page.$$eval('[data-chart]', (els) =>
      els.map((e) => ({
        rig: (e as HTMLElement).dataset.rig!,
        status: (e as HTMLElement).dataset.status,
        svg: e.querySelector('svg') !== null,
      })),
    ),
    cites: await page.$$eval('cite.published', (els) =>
      els.map((e) => {
        const link = e.querySelector('.source a')?.getAttribute('href') ?? '';
        return {
          ref: (e as HTMLElement).dataset.reference,
          value: (e as HTMLElement).dataset.value,
          link,
          source: e.querySelector('.source')?.textContent ?? '',
          target: link.startsWith('#') ? document.querySelectorAll(link).length : 0,
        };
      }),
    ),
    svgs: await page.$$eval('svg', (els) => els.length),
  };
}

let server: StaticServer;
let browser: Browser;
const views = new Map<string, PageView>();

beforeAll(async () => {
  server = await serveStatic(site);
  browser = await launchChromium();
  const page = await browser.newPage();
  for (const path of claimsPages) views.set(path, await view(page, server.url + path));
  await page.close();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the built site in chromium', () => {
  it('links every measured cell to a result page that exists and shows the same value', async () => {
    const page = await browser.newPage();
    const resultPages = new Map<string, { path: string; measures: Measure[] }>();
    let checked = 0;
    for (const path of claimsPages) {
      const v = views.get(path)!;
      expect(v.status, path).toBe(200);
      expect(v.measures.length, `measured cells on ${path}`).toBeGreaterThan(0);
      for (const cell of v.measures) {
        const url = cell.href.replace(/#.*$/, '');
        let shown = resultPages.get(url);
        if (!shown) {
          const r = await page.goto(url);
          expect(r?.status(), url).toBe(200);
          shown = {
            path: (await page.textContent('[data-result-path]'))!,
            measures: await page.$$eval('.measure[data-value]', (els) =>
              els.map((e) => {
                const d = (e as HTMLElement).dataset;
                return {
                  result: d.result!,
                  metric: d.metric!,
                  labels: d.labels!,
                  stat: d.stat!,
                  value: d.value!,
                  text: e.textContent!.trim(),
                } as Measure;
              }),
            ),
          };
          resultPages.set(url, shown);
        }
        expect(shown.path).toBe(cell.result);
        const same = shown.measures.filter(
          (m) =>
            m.metric === cell.metric && m.labels === cell.labels && m.stat === cell.stat && m.result === cell.result,
        );
        expect(same, `${cell.metric} ${cell.labels} ${cell.stat} on ${url}`).toHaveLength(1);
        expect(same[0]!.value).toBe(cell.value);
        expect(same[0]!.text).toBe(cell.text);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
    await page.close();
  });

  it('gives every dash and every not-written row its data attributes', () => {
    let dashes = 0;
    for (const path of claimsPages) {
      const v = views.get(path)!;
      for (const s of v.statuses.filter((x) => x.status === 'not-captured' && x.text === '—')) {
        expect(s.rig, JSON.stringify(s)).toBeTruthy();
        expect(knownRigs.has(s.rig!), `dash for unknown rig ${s.rig}`).toBe(true);
        dashes++;
      }
      for (const s of v.statuses.filter((x) => x.status === 'not-written')) {
        expect(s.rig, JSON.stringify(s)).toBeTruthy();
        expect(knownRigs.has(s.rig!), `${s.rig} has a manifest, so its row must render`).toBe(false);
      }
      // A dash is never a number.
      expect(v.statuses.filter((x) => x.status === 'not-captured' && x.value !== undefined)).toEqual([]);
    }
    // Host b lacks a series of every rig, so its page has dashes.
    expect(dashes).toBeGreaterThan(0);
  });

  it('flags a p99 over fewer than 100 samples, and styles published figures as citations, never as measurements', () => {
    const v = views.get('/')!;
    const p99 = v.measures.filter((c) => c.stat === 'p99');
    expect(p99.length).toBeGreaterThan(0);
    for (const c of p99) {
      expect(c.flagged).toBe(Number(c.n) < 100);
      if (c.flagged) expect(c.flagNote).toContain(`only ${c.n} samples`);
    }
    for (const c of v.measures.filter((x) => x.stat !== 'p99' && x.stat !== 'stddev')) expect(c.flagged).toBe(false);
    expect(v.cites.length).toBeGreaterThan(0);
    for (const c of v.cites) {
      expect(c.ref).toBeTruthy();
      expect(c.value).toBeUndefined();
      expect(c.link).toBe(`#source-${c.ref}`);
      expect(c.target).toBe(1);
      expect(c.source).toMatch(/\d{4}-\d{2}-\d{2}/);
    }
  });

  it('renders the charts as SVG in the HTML', async () => {
    const v = views.get('/')!;
    expect(v.charts.length).toBe(chartRigs.size);
    for (const c of v.charts) {
      if (knownRigs.has(c.rig)) expect(c.svg, `chart of ${c.rig}`).toBe(true);
      else expect(c.status).toBe('not-written');
    }
    const page = await browser.newPage();
    await page.goto(v.measures[0]!.href);
    expect(await page.$$eval('figure.chart svg', (els) => els.length)).toBeGreaterThan(0);
    const raw = await page.getAttribute('a[data-raw]', 'href');
    const response = await page.goto(server.url + raw!);
    expect(response?.headers()['content-type']).toBe('application/json');
    expect((await response!.json()).schemaVersion).toBe(1);
    await page.close();
  });

  it('works with JavaScript disabled', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    for (const path of claimsPages.slice(0, 2)) {
      const withJs = views.get(path)!;
      const noJs = await view(page, server.url + path);
      expect(noJs.h1).toBe(true);
      expect(noJs.measures).toEqual(withJs.measures);
      expect(noJs.statuses).toEqual(withJs.statuses);
      expect(noJs.svgs).toBe(withJs.svgs);
    }
    // A measured cell is a plain link: following it works without script.
    await page.click('a.measure');
    await page.waitForURL(/\/results\//);
    expect(await page.isVisible('[data-result-path]')).toBe(true);
    await context.close();
  });

  it('scores 100 for accessibility and best practices in Lighthouse on a page of each kind that draws something', async () => {
    // A claims page with dashes, failing checks, citations and charts; a compare page; a result page with its
    // distribution charts; a rig page. The other pages are prose in the same layout.
    const resultPage = views.get('/')!.measures[0]!.href.replace(/#.*$/, '');
    const rigPage = `${server.url}/rigs/${[...chartRigs].find((r) => knownRigs.has(r))}/`;
    const pages = [
      server.url + '/hosts/synthetic-b/',
      server.url + '/compare/synthetic-a--synthetic-b/',
      resultPage,
      rigPage,
    ];
    const lighthouse = await startLighthouse();
    try {
      for (const url of pages) {
        const audit = await lighthouse.audit(url);
        // The failures are in the comparison so a regression names the audit and the elements it flagged.
        expect(audit).toEqual({ url, scores: { accessibility: 100, 'best-practices': 100 }, failures: [] });
      }
    } finally {
      await lighthouse.close();
    }
  }, 300_000);
});
