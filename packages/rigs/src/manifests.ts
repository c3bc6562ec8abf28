/**
 * Every rig's manifest: pure data, safe for the site to import. Add a rig here when its folder lands.
 */
import type { RigManifest } from '@coppice/results-schema';

export const manifests: readonly RigManifest[] = [];

export function manifestById(id: string): RigManifest | undefined {
  return manifests.find((m) => m.id === id);
}
