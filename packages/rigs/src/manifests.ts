/**
 * Every rig's manifest: pure data, safe for the site to import. Each group file lists the manifests of its rigs.
 */
import type { RigManifest } from '@coppice/results-schema';
import { floorsManifests } from './rigs/floors.ts';
import { networkManifests } from './rigs/network.ts';
import { networkEdgeManifests } from './rigs/network-edge.ts';
import { poolsManifests } from './rigs/pools.ts';

export const manifests: readonly RigManifest[] = [
  ...floorsManifests,
  ...networkManifests,
  ...networkEdgeManifests,
  ...poolsManifests,
];

export function manifestById(id: string): RigManifest | undefined {
  return manifests.find((m) => m.id === id);
}
