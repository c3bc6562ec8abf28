import { rigManifestSchema, type RigManifest, type RigManifestInput } from '@coppice/results-schema';

/** Validates a manifest at import time, so a bad manifest fails every build and test that loads it. */
export function defineManifest(input: RigManifestInput): RigManifest {
  const parsed = rigManifestSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(`invalid manifest for rig "${input.id}": ${parsed.error.message}`);
  }
  return parsed.data;
}
