import { defineConfig } from 'astro/config';
import { loadSiteData } from './src/lib/data/site-data.ts';

/**
 * Validates the results tree, the published references, the registry and the page sources before anything is
 * bundled, so a build over an invalid tree fails at once with every problem listed (file and field). The pages
 * load the same data again through the same function.
 */
const validateBeforeBuild = {
  name: 'coppice-validate',
  hooks: {
    'astro:config:setup': ({ command, logger }) => {
      if (command !== 'build') return;
      const data = loadSiteData();
      logger.info(`${data.results.length} result files, ${data.hosts.length} hosts, ${data.manifests.length} rig manifests: valid`);
    },
  },
};

// A fully static site: every page is rendered at build time from the result files; no client JavaScript.
export default defineConfig({
  output: 'static',
  outDir: './dist',
  trailingSlash: 'always',
  build: { format: 'directory', inlineStylesheets: 'never' },
  devToolbar: { enabled: false },
  integrations: [validateBeforeBuild],
});
