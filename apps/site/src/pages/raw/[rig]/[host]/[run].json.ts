import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIRoute, GetStaticPaths } from 'astro';
import { siteData } from '../../../../lib/data/site-data.ts';
import { resultSlug } from '../../../../lib/data/urls.ts';

/** Each result file, byte for byte as committed, served beside its page. */
export const getStaticPaths: GetStaticPaths = () => {
  const data = siteData();
  return data.results.map((r) => ({ params: resultSlug(r), props: { file: join(data.root, r.path) } }));
};

export const GET: APIRoute = ({ props }) =>
  new Response(readFileSync((props as { file: string }).file), { headers: { 'content-type': 'application/json' } });
