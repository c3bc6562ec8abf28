import type { RigManifest } from '@coppice/results-schema';

/** Manifests of the pools rigs (each from its src/rigs/<id>/manifest.ts). */
export const poolsManifests: readonly RigManifest[] = [];
