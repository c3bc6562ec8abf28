/**
 * Every rig's manifest, found as `src/rigs/<id>/manifest.ts` (harness/discover-manifests.ts): pure data, safe for
 * the site to import.
 */
import { fileURLToPath } from 'node:url';
import type { RigManifest } from '@coppice/results-schema';
import { importManifestModules, manifestsFromModules, type ManifestModules } from './harness/discover-manifests.ts';

const RIGS_DIR = fileURLToPath(new URL('./rigs/', import.meta.url));

/**
 * Under Vite (the site's build, vitest) `import.meta.glob` is replaced at transform time by one static import per
 * manifest, so a bundle carries them; under plain Node (tsx, the CLI) it does not exist and they are read from disk.
 */
function bundledManifestModules(): ManifestModules | undefined {
  try {
    // @ts-ignore -- Vite's import.meta.glob; the package's own types do not include Vite's (the site's do).
    return import.meta.glob('./rigs/*/manifest.ts', { eager: true }) as ManifestModules;
  } catch (e) {
    if (e instanceof TypeError) return undefined;
    throw e;
  }
}

export const manifests: readonly RigManifest[] = manifestsFromModules(
  bundledManifestModules() ?? (await importManifestModules(RIGS_DIR)),
);

export function manifestById(id: string): RigManifest | undefined {
  return manifests.find((m) => m.id === id);
}
