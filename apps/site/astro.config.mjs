import { defineConfig } from 'astro/config';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSiteData, shareSiteData } from './src/lib/data/site-data.ts';
import { rawResultUrl } from './src/lib/data/urls.ts';
import { unsourcedFigures } from './src/lib/validation/rendered-figures.ts';
import { BuildValidationError } from './src/lib/validation/problem.ts';

/**
 * Validates the results tree, the published references, the registry and the page sources before anything is
 * bundled, so a build over an invalid tree fails at once with every problem listed (file and field), and hands
 * the loaded data to the pages (shareSiteData). After the build, copies the result files beside their pages and
 * audits the rendered claims pages.
 */
const validateBeforeBuild = {
  name: 'coppice-validate',
  hooks: {
    'astro:config:setup': ({ command, logger }) => {
      if (command !== 'build') return;
      const data = loadSiteData();
      shareSiteData(data);
      logger.info(
        `${data.results.length} result files, ${data.hosts.length} hosts, ${data.manifests.length} rig manifests: valid`,
      );
    },
    // The claims and compare pages as rendered: any figure in their text must come from a result, a reference or a
    // stated given (this catches a figure produced by component code, which the source scan cannot see).
    'astro:build:done': ({ dir, logger }) => {
      const out = fileURLToPath(dir);
      copyRawResults(out);
      const pages = [join(out, 'index.html'), ...htmlUnder(join(out, 'hosts')), ...htmlUnder(join(out, 'compare'))];
      const problems = pages.flatMap((page) =>
        unsourcedFigures(readFileSync(page, 'utf8')).map((figure) => ({
          file: relative(out, page),
          message: `renders the figure "${figure}" without a result, reference or given behind it`,
        })),
      );
      if (problems.length > 0) throw new BuildValidationError(problems);
      logger.info(`${pages.length} claims and compare pages: every figure traced`);
    },
  },
};

/** Every result file, byte for byte, beside its page (/raw/<rig>/<host>/<run>.json): the evidence itself. */
function copyRawResults(out) {
  const data = loadSiteDataOnce();
  for (const result of data.results) {
    const target = join(out, rawResultUrl(result));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(data.root, result.path), target);
  }
}

function loadSiteDataOnce() {
  return globalThis[Symbol.for('coppice.site-data')] ?? loadSiteData();
}

function htmlUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.html'))
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

// A fully static site: every page is rendered at build time from the result files; no client JavaScript.
export default defineConfig({
  output: 'static',
  outDir: './dist',
  trailingSlash: 'always',
  build: { format: 'directory', inlineStylesheets: 'never' },
  devToolbar: { enabled: false },
  integrations: [validateBeforeBuild],
});
