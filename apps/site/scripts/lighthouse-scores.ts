/**
 * Lighthouse accessibility and best-practices scores of one page of every type, each audited in Debian's
 * chromium, with every audit that lost points. Exits non-zero when any score is under 100.
 *
 *   cd apps/site && npx tsx scripts/lighthouse-scores.ts              # a build over the synthetic test tree
 *   cd apps/site && npx tsx scripts/lighthouse-scores.ts --site dist  # an already built site
 *
 * The synthetic tree (test/support/synthetic-results.ts) has two hosts, so it has a compare page; it is written
 * into a temporary folder and removed afterwards.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildFixtureSite, type FixtureSite } from '../test/support/fixture-site.ts';
import { LIGHTHOUSE_CATEGORIES, startLighthouse } from '../test/support/lighthouse.ts';
import { serveStatic } from '../test/support/static-server.ts';

const args = process.argv.slice(2);
const siteArg = args.includes('--site') ? args[args.indexOf('--site') + 1] : undefined;

/** The first page folder at `depth` levels under `dir` in the built site, as a URL path. */
function firstPage(site: string, dir: string, depth: number): string | undefined {
  let path = dir;
  for (let level = 0; level < depth; level++) {
    if (!existsSync(join(site, path))) return undefined;
    const next = readdirSync(join(site, path), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()[0];
    if (next === undefined) return undefined;
    path = `${path}${next}/`;
  }
  return existsSync(join(site, path, 'index.html')) ? path : undefined;
}

function pagesOfEveryType(site: string): { type: string; path: string | undefined }[] {
  return [
    { type: 'claims (headline host)', path: '/' },
    { type: 'claims per host', path: firstPage(site, '/hosts/', 1) },
    { type: 'compare', path: firstPage(site, '/compare/', 1) },
    { type: 'rig', path: firstPage(site, '/rigs/', 1) },
    { type: 'result', path: firstPage(site, '/results/', 3) },
    { type: 'methodology', path: '/methodology/' },
    { type: 'hosts index', path: '/hosts/' },
    { type: 'rigs index', path: '/rigs/' },
  ];
}

let fixture: FixtureSite | undefined;
try {
  if (siteArg === undefined) fixture = await buildFixtureSite();
  const site = siteArg === undefined ? fixture!.site : resolve(siteArg);
  const server = await serveStatic(site);
  const lighthouse = await startLighthouse();
  let pagesUnder = 0;
  try {
    console.log(`site: ${siteArg ?? 'a build over the synthetic test tree'}`);
    for (const { type, path } of pagesOfEveryType(site)) {
      if (path === undefined) {
        console.log(`${type.padEnd(24)} no such page in this site`);
        continue;
      }
      const audit = await lighthouse.audit(server.url + path);
      const scores = LIGHTHOUSE_CATEGORIES.map((c) => `${c} ${audit.scores[c]}`).join(', ');
      console.log(`${type.padEnd(24)} ${scores}  ${path}`);
      if (LIGHTHOUSE_CATEGORIES.some((c) => audit.scores[c] < 100)) pagesUnder++;
      for (const f of audit.failures) {
        const items = [...new Set(f.items)];
        console.log(`    ${f.category}: ${f.audit} (${items.length} distinct): ${f.title}`);
        for (const item of items.slice(0, 5)) console.log(`      ${item.slice(0, 200)}`);
      }
    }
  } finally {
    await lighthouse.close();
    await server.close();
  }
  console.log(
    `command: cd apps/site && npx tsx scripts/lighthouse-scores.ts${siteArg === undefined ? '' : ` --site ${siteArg}`}`,
  );
  process.exitCode = pagesUnder === 0 ? 0 : 1;
} finally {
  fixture?.remove();
}
