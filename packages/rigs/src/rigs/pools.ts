import type { RigManifest } from '@coppice/results-schema';
import { coldStartManifest } from './cold-start/manifest.ts';
import { densityManifest } from './density/manifest.ts';
import { poolRefillManifest } from './pool-refill/manifest.ts';

/** Manifests of the pools rigs (each from its src/rigs/<id>/manifest.ts). */
export const poolsManifests: readonly RigManifest[] = [coldStartManifest, densityManifest, poolRefillManifest];
