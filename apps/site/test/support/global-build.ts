import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { buildFixtureSite } from './fixture-site.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    fixtureResults: string;
    fixtureSite: string;
    fixtureFiles: string[];
  }
}

/** Builds the site once over a small synthetic results tree in a temporary folder; removed afterwards. */
export default async function setup(project: TestProject) {
  const fixture = await buildFixtureSite();
  project.provide('fixtureResults', fixture.results);
  project.provide('fixtureSite', fixture.site);
  project.provide('fixtureFiles', fixture.files);
  return fixture.remove;
}
