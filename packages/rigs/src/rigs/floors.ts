import type { RigManifest } from '@coppice/results-schema';
import { hostLimitsManifest } from './host-limits/manifest.ts';

/** Manifests of the floors rigs (each from its src/rigs/<id>/manifest.ts). */
export const floorsManifests: readonly RigManifest[] = [hostLimitsManifest];
