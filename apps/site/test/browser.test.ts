import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { manifests } from '@coppice/rigs/manifests';
import { registry } from '../src/claims/registry.ts';
import { launchChromium } from './support/chromium.ts';
import { serveStatic, type StaticServer } from './support/static-server.ts';

const site = inject('fixtureSite');
let server: StaticServer;
let browser: Browser;

beforeAll(async () => {
  server = await serveStatic(site);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface Measure {
  href: string;
  result: string;
  metric: string;
  labels: string;
  stat: string;
  value: string;
  text: string;
}

async function measures(page: Page): Promise<Measure[]> {
  return page.$$eval('a.measure[data-value]', (els) =>
    els.map((e) => {
      const d = (e as HTMLElement).dataset;
      return { href: (e as HTMLAnchorElement).href, result: d.result!, metric: d.metric!, labels: d.labels!, stat: d.stat!, value: d.value!, text: e.textContent!.trim() };
    }),
  );
}

const resultPages = new Map<string, { path: string; measures: Omit<Measure, 'href'>[] }>();

/** What a result page shows (visited once per page): its file path and every statistic with its provenance. */
async function resultMeasures(page: Page, href: string) {
  const url = href.replace(/#.*$/, '');
  let shown = resultPages.get(url);
  if (!shown) {
    const r = await page.goto(url);
    expect(r?.status(), url).toBe(200);
    shown = {
      path: (await page.textContent('[data-result-path]'))!,
      measures: await page.$$eval('.measure[data-value]', (els) =>
        els.map((e) => {
          const d = (e as HTMLElement).dataset;
          return { result: d.result!, metric: d.metric!, labels: d.labels!, stat: d.stat!, value: d.value!, text: e.textContent!.trim() };
        }),
      ),
    };
    resultPages.set(url, shown);
  }
  return shown;
}

const claimsPages = ['/', '/hosts/synthetic-a/', '/hosts/synthetic-b/', '/compare/synthetic-a--synthetic-b/'];
const chartRigs = new Set(registry.sections.flatMap((s) => (s.chart ? [s.chart.rig] : [])));

describe('the built site in chromium', () => {
  it('links every measured cell to a result page that exists and shows the same value', async () => {
    const page = await browser.newPage();
    const resultPage = await browser.newPage();
    let checked = 0;
    for (const path of claimsPages) {
      const response = await page.goto(server.url + path);
      expect(response?.status(), path).toBe(200);
      const cells = await measures(page);
      expect(cells.length, `measured cells on ${path}`).toBeGreaterThan(0);
      for (const cell of cells) {
        const shown = await resultMeasures(resultPage, cell.href);
        expect(shown.path).toBe(cell.result);
        const same = shown.measures.filter((m) => m.metric === cell.metric && m.labels === cell.labels && m.stat === cell.stat && m.result === cell.result);
        expect(same, `${cell.metric} ${cell.labels} ${cell.stat} on ${cell.href}`).toHaveLength(1);
        expect(same[0]!.value).toBe(cell.value);
        expect(same[0]!.text).toBe(cell.text);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
    await page.close();
    await resultPage.close();
  });

  it('gives every dash and every not-written row its data attributes', async () => {
    const page = await browser.newPage();
    const known = new Set(manifests.map((m) => m.id));
    let dashes = 0;
    for (const path of claimsPages) {
      await page.goto(server.url + path);
      const statuses = await page.$$eval('[data-status]', (els) =>
        els.map((e) => ({ status: (e as HTMLElement).dataset.status!, rig: (e as HTMLElement).dataset.rig, text: e.textContent!.trim(), tag: e.tagName })),
      );
      for (const s of statuses.filter((x) => x.status === 'not-captured' && x.text === '—')) {
        expect(s.rig, JSON.stringify(s)).toBeTruthy();
        expect(known.has(s.rig!), `dash for unknown rig ${s.rig}`).toBe(true);
        dashes++;
      }
      for (const s of statuses.filter((x) => x.status === 'not-written')) {
        expect(s.rig, JSON.stringify(s)).toBeTruthy();
        expect(known.has(s.rig!), `${s.rig} has a manifest, so its row must render`).toBe(false);
      }
      // A dash is never a number and a number is never a dash.
      expect(await page.$$eval('[data-status="not-captured"][data-value]', (els) => els.length)).toBe(0);
    }
    // Host b lacks a series of every rig, so its page has dashes.
    expect(dashes).toBeGreaterThan(0);
    await page.close();
  });

  it('renders the charts as SVG in the HTML', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + '/');
    const charts = await page.$$eval('[data-chart]', (els) =>
      els.map((e) => ({ rig: (e as HTMLElement).dataset.rig!, status: (e as HTMLElement).dataset.status, svg: e.querySelector('svg') !== null })),
    );
    expect(charts.length).toBe(chartRigs.size);
    for (const c of charts) {
      if (manifests.some((m) => m.id === c.rig)) expect(c.svg, `chart of ${c.rig}`).toBe(true);
      else expect(c.status).toBe('not-written');
    }
    const files = await page.$$eval('a.measure', (els) => [...new Set(els.map((e) => (e as HTMLAnchorElement).href))]);
    await page.goto(files[0]!);
    expect(await page.$$eval('figure.chart svg', (els) => els.length)).toBeGreaterThan(0);
    await page.close();
  });

  it('serves the raw JSON beside each result page', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + '/');
    const href = await page.getAttribute('a.measure', 'href');
    await page.goto(server.url + href!);
    const raw = await page.getAttribute('a[data-raw]', 'href');
    const response = await page.goto(server.url + raw!);
    expect(response?.headers()['content-type']).toBe('application/json');
    const json = await response!.json();
    expect(json.schemaVersion).toBe(1);
    await page.close();
  });

  it('works with JavaScript disabled', async () => {
    const withJs = await browser.newPage();
    const context = await browser.newContext({ javaScriptEnabled: false });
    const noJs = await context.newPage();
    for (const path of claimsPages.slice(0, 2)) {
      await withJs.goto(server.url + path);
      await noJs.goto(server.url + path);
      const a = await measures(withJs);
      const b = await measures(noJs);
      expect(b).toEqual(a);
      expect(await noJs.isVisible('h1')).toBe(true);
      expect(await noJs.$$eval('svg', (els) => els.length)).toBe(await withJs.$$eval('svg', (els) => els.length));
    }
    // A measured cell is a plain link: following it works without script.
    await noJs.click('a.measure');
    await noJs.waitForURL(/\/results\//);
    expect(await noJs.isVisible('[data-result-path]')).toBe(true);
    await context.close();
    await withJs.close();
  });
});
