// Bundles the agent into one ESM file for the guest, which has Debian's Node 18 and no node_modules.
import { build } from 'esbuild';

await build({
  entryPoints: [new URL('./src/main.ts', import.meta.url).pathname],
  outfile: new URL('./dist/envd.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18',
  minify: true,
  legalComments: 'none',
  // CommonJS dependencies (busboy) call require() for node builtins; ESM output has no require of its own.
  banner: {
    js: "import { createRequire as __envdRequire } from 'node:module'; const require = __envdRequire(import.meta.url);",
  },
});
