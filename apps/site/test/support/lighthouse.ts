import lighthouse from 'lighthouse';
import { launch } from 'chrome-launcher';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.ts';

/** The Lighthouse categories the site holds at 100 on every page. */
export const LIGHTHOUSE_CATEGORIES = ['accessibility', 'best-practices'] as const;
export type LighthouseCategory = (typeof LIGHTHOUSE_CATEGORIES)[number];

/** One audit that lost points, with what it pointed at (element snippets, URLs or messages). */
export interface LighthouseFailure {
  category: LighthouseCategory;
  audit: string;
  title: string;
  items: string[];
}

export interface PageAudit {
  url: string;
  scores: Record<LighthouseCategory, number>;
  failures: LighthouseFailure[];
}

export interface Lighthouse {
  audit(url: string): Promise<PageAudit>;
  close(): Promise<void>;
}

/**
 * Starts Debian's chromium (never a downloaded browser) for Lighthouse to drive; `audit` runs only the
 * accessibility and best-practices categories, with Lighthouse's default (mobile) emulation.
 */
export async function startLighthouse(): Promise<Lighthouse> {
  const chrome = await launch({
    chromePath: CHROMIUM,
    chromeFlags: CHROMIUM_ARGS,
    logLevel: 'silent',
    handleSIGINT: false,
  });
  return {
    async audit(url) {
      const run = await lighthouse(url, {
        port: chrome.port,
        logLevel: 'error',
        output: 'json',
        onlyCategories: [...LIGHTHOUSE_CATEGORIES],
        // A static page with no script is done when it has loaded: no waiting for quiet, no throttling, no screenshot.
        pauseAfterLoadMs: 0,
        networkQuietThresholdMs: 0,
        cpuQuietThresholdMs: 0,
        throttlingMethod: 'provided',
        disableFullPageScreenshot: true,
      });
      if (!run) throw new Error(`lighthouse returned no result for ${url}`);
      const { lhr } = run;
      if (lhr.runtimeError)
        throw new Error(`lighthouse could not audit ${url}: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
      const scores = {} as Record<LighthouseCategory, number>;
      const failures: LighthouseFailure[] = [];
      for (const category of LIGHTHOUSE_CATEGORIES) {
        const result = lhr.categories[category];
        if (!result || result.score === null) throw new Error(`lighthouse gave no ${category} score for ${url}`);
        scores[category] = Math.round(result.score * 100);
        for (const ref of result.auditRefs) {
          const audit = lhr.audits[ref.id]!;
          if (ref.weight === 0 || audit.score === null || audit.score === 1) continue;
          failures.push({ category, audit: ref.id, title: audit.title, items: describeItems(audit.details) });
        }
      }
      return { url, scores, failures };
    },
    async close() {
      chrome.kill();
    },
  };
}

function describeItems(details: unknown): string[] {
  const items = (details as { items?: Record<string, unknown>[] } | undefined)?.items ?? [];
  return items.map((item) => {
    const node = item.node as { snippet?: string; explanation?: string } | undefined;
    if (node?.snippet)
      return node.explanation ? `${node.snippet}: ${node.explanation.replace(/\s+/g, ' ')}` : node.snippet;
    return String(item.url ?? item.description ?? item.source ?? JSON.stringify(item));
  });
}
