/**
 * Finding the rigs: each folder `src/rigs/<id>/` with a `manifest.ts` is one rig, and that file exports its manifest.
 * The folder name is the rig's id, so a manifest whose id differs is refused rather than listed under either name.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { rigManifestSchema, type RigManifest } from '@coppice/results-schema';

/** A manifest module as loaded, keyed by its path ending in `<folder>/manifest.ts`. */
export type ManifestModules = Record<string, Record<string, unknown>>;

/** Imports `<rigsDir>/<folder>/manifest.ts` of every folder that has one. */
export async function importManifestModules(rigsDir: string): Promise<ManifestModules> {
  const modules: ManifestModules = {};
  for (const entry of await readdir(rigsDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const file = join(rigsDir, entry.name, 'manifest.ts');
    if (!existsSync(file)) continue;
    modules[file] = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as Record<string, unknown>;
  }
  return modules;
}

/**
 * The manifests of the loaded modules, sorted by id. Each module must export exactly one value that is a valid
 * manifest, and its id must be its folder's name.
 */
export function manifestsFromModules(modules: ManifestModules): RigManifest[] {
  const problems: string[] = [];
  const manifests: RigManifest[] = [];
  for (const [path, module] of Object.entries(modules)) {
    const folder = /([^/\\]+)[/\\]manifest\.ts$/.exec(path)?.[1];
    if (folder === undefined) throw new Error(`${path}: not a <folder>/manifest.ts path`);
    const exported = Object.values(module).filter((v): v is RigManifest => rigManifestSchema.safeParse(v).success);
    if (exported.length !== 1) {
      problems.push(`rigs/${folder}/manifest.ts exports ${exported.length} valid manifests, expected exactly 1`);
      continue;
    }
    const manifest = exported[0]!;
    if (manifest.id !== folder) {
      problems.push(
        `rigs/${folder}/manifest.ts has id "${manifest.id}": a rig's id must be its folder's name ("${folder}")`,
      );
      continue;
    }
    manifests.push(manifest);
  }
  if (problems.length > 0) throw new Error(`rig manifests: ${problems.join('; ')}`);
  return manifests.sort((a, b) => a.id.localeCompare(b.id));
}

/** Every rig manifest under `rigsDir`, read from disk. */
export async function discoverManifests(rigsDir: string): Promise<RigManifest[]> {
  return manifestsFromModules(await importManifestModules(rigsDir));
}
