import type { RigManifest } from '@coppice/results-schema';
import { lifecycleManifest } from './lifecycle/manifest.ts';
import { netRrManifest } from './net-rr/manifest.ts';
import { netThroughputManifest } from './net-throughput/manifest.ts';
import { policyUnderLoadManifest } from './policy-under-load/manifest.ts';
import { policyUpdateManifest } from './policy-update/manifest.ts';

/** Manifests of the network rigs (each from its src/rigs/<id>/manifest.ts). */
export const networkManifests: readonly RigManifest[] = [
  lifecycleManifest,
  netRrManifest,
  policyUpdateManifest,
  netThroughputManifest,
  policyUnderLoadManifest,
];
