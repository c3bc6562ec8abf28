/**
 * A pool's reconcile as pure decisions: given its records and what the host holds (live VMs, intact checkpoints,
 * running monitors, files, network leases), what to adopt, keep, drop, kill and remove. The effects are carried
 * out by reconcilePool (reconcile.ts).
 */
import { join } from 'node:path';
import type { Checkpoint, RunningVm } from '../hypervisor/hypervisor.ts';
import type { EntryRecord } from './state.ts';

/**
 * What becomes of one recorded entry: its VM is still there (adopt it), or its VM is gone but its checkpoint is
 * intact (keep it; an entry that had a VM becomes an idle durable one), or nothing of it can be used (drop it).
 */
export type EntryFate = 'adopt' | 'keep' | 'keep-as-durable' | 'drop';

export function entryFate(entry: EntryRecord, vmAlive: boolean, checkpointIntact: boolean): EntryFate {
  if (entry.vm && vmAlive) return 'adopt';
  if (entry.checkpoint && checkpointIntact) return entry.vm ? 'keep-as-durable' : 'keep';
  return 'drop';
}

/** An entry kept after its VM died: its checkpoint serves as an idle durable entry. */
export function asDurable(entry: EntryRecord): EntryRecord {
  return { ...entry, vm: undefined, tier: 'durable', status: 'idle' };
}

/** Monitors running under the pool's run directory that no entry records (a controller killed before recording). */
export function orphanVms(running: readonly RunningVm[], entries: readonly EntryRecord[]): RunningVm[] {
  const recorded = recordedRunDirs(entries);
  return running.filter((p) => !recorded.has(p.runDir));
}

/** Folders in the pool's run directory (`runDir`, listed as `names`) that belong to no recorded VM. */
export function orphanRunDirs(runDir: string, names: readonly string[], entries: readonly EntryRecord[]): string[] {
  const recorded = recordedRunDirs(entries);
  return names.map((d) => join(runDir, d)).filter((full) => !recorded.has(full));
}

function recordedRunDirs(entries: readonly EntryRecord[]): Set<string | undefined> {
  return new Set(entries.map((e) => e.vm?.runDir).filter(Boolean));
}

/** Every file the template checkpoint and the entries' checkpoints need (memory files included). */
export function referencedFiles(base: Checkpoint | undefined, entries: readonly EntryRecord[]): Set<string> {
  const referenced = new Set<string>();
  for (const cp of [base, ...entries.map((e) => e.checkpoint)]) {
    if (!cp) continue;
    cp.files.forEach((f) => referenced.add(f));
    if (cp.memoryFile) referenced.add(cp.memoryFile);
  }
  return referenced;
}

/** Which checkpoint file names and VM names are the pool's, from its template name (how newId and init name them). */
export function poolOwnership(template: string): {
  ownsCheckpoint(name: string): boolean;
  ownsVm(name: string): boolean;
} {
  const t = template.replace(/-/g, '\\-');
  const ownsCheckpoint = new RegExp(`^${t}-(base|[0-9a-f]{8})\\.state$`);
  const ownsVm = new RegExp(`^cp-${t}-(tpl|[0-9a-f]{8})$`);
  return { ownsCheckpoint: (n) => ownsCheckpoint.test(n), ownsVm: (n) => ownsVm.test(n) };
}

/** Leases the network holds for the pool that no entry owns. */
export function unownedLeases(entries: readonly EntryRecord[], leases: readonly string[]): string[] {
  const owned = new Set(entries.map((e) => e.net?.id).filter(Boolean));
  return leases.filter((id) => !owned.has(id));
}

/**
 * What another build of the guest image leaves unusable: the template checkpoint made from the old image, and the
 * idle entries made from it. Entries handed out keep running on the old image's files.
 */
export function staleEntries(
  base: Checkpoint | undefined,
  entries: readonly EntryRecord[],
  imageName: string,
): { base: Checkpoint | undefined; entries: Set<EntryRecord> } {
  const imageOf = (e: EntryRecord) => e.checkpoint?.image ?? e.vm?.spec.image.name;
  return {
    base: base && base.image !== imageName ? base : undefined,
    entries: new Set(
      entries.filter((e) => e.status === 'idle' && imageOf(e) !== undefined && imageOf(e) !== imageName),
    ),
  };
}
