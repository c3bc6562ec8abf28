import { defineConfig } from 'astro/config';

// A fully static site: every page is rendered at build time from the result files; no client JavaScript.
export default defineConfig({
  output: 'static',
  outDir: './dist',
  trailingSlash: 'always',
  build: { format: 'directory', inlineStylesheets: 'never' },
  devToolbar: { enabled: false },
});
