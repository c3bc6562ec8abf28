import type { RigManifest } from '@coppice/results-schema';

/** Manifests of the floors rigs (each from its src/rigs/<id>/manifest.ts). */
export const floorsManifests: readonly RigManifest[] = [];
