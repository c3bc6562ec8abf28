import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Platform, RigManifest } from '@coppice/results-schema';

export interface HostCapabilities {
  platform: Platform;
  root: boolean;
  /** Whether an executable is on PATH. */
  hasBinary(name: string): boolean;
}

/**
 * Reasons the manifest's requirements are not met on this host, in the order they are checked (platform, root,
 * binaries); empty when the rig may proceed to its own preflight.
 */
export function unmetRequirements(manifest: RigManifest, host: HostCapabilities): string[] {
  if (!manifest.platforms.includes(host.platform)) {
    return [`runs on ${manifest.platforms.join(', ')} only; this host is ${host.platform}`];
  }
  const reasons: string[] = [];
  if (manifest.requirements.root && !host.root) reasons.push('needs root');
  const missing = (manifest.requirements.binaries[host.platform] ?? []).filter((b) => !host.hasBinary(b));
  if (missing.length > 0) reasons.push(`needs ${missing.join(', ')} on PATH (not found)`);
  return reasons;
}

/** Looks an executable up on PATH like execvp would. */
export function onPath(name: string, path: string = process.env.PATH ?? ''): boolean {
  if (name.includes('/')) return isExecutable(name);
  return path
    .split(delimiter)
    .filter(Boolean)
    .some((dir) => isExecutable(join(dir, name)));
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
