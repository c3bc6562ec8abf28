import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkpoint, Hypervisor, Vm } from '../hypervisor/hypervisor.ts';
import type { EntryNetwork } from './network.ts';
import {
  asDurable,
  entryFate,
  orphanRunDirs,
  orphanVms,
  poolOwnership,
  referencedFiles,
  staleEntries,
  unownedLeases,
} from './reconcile-plan.ts';
import type { EntryRecord } from './state.ts';

export interface ReconcileReport {
  adopted: string[];
  dropped: string[];
  killedOrphanPids: number[];
  removedFiles: string[];
  releasedLeases: string[];
  /** Checkpoint memory files made again from their images on disk (tmpfs emptied, e.g. by a reboot). */
  revivedFiles: string[];
  /**
   * The template checkpoint: kept as it was, revived (its memory made again from disk), lost (files missing: the
   * next warm/init boots the template again), stale (made from another build of the guest image: removed, with the
   * idle entries made from it, and booted again by the next warm/init), or none recorded.
   */
  template: 'kept' | 'revived' | 'lost' | 'stale' | 'none';
}

export interface PoolRecords {
  template: string;
  /** The pool's checkpoint folder (`<stateDir>/<template>`). */
  checkpointDir: string;
  /** The pool's run folder (`<runRoot>/<template>`): one folder per live VM. */
  runDir: string;
  base: Checkpoint | undefined;
  entries: EntryRecord[];
  /** The guest image the pool is configured with now (its name changes with every build of the image). */
  imageName: string;
}

/**
 * Makes the state true again after a crash or a reboot: revives checkpoint memory that tmpfs lost from its images
 * on disk, adopts the VMs that are still this pool's, drops entries whose VM or checkpoint is gone, kills VMs under
 * this pool's run directory that no entry records, removes checkpoint and memory files no entry (or the template
 * checkpoint) references, and releases network leases no entry owns. Recorded checkpoints are never removed.
 * Resolves with what is left (base, entries), the adopted VMs by entry id, and the report.
 */
export async function reconcilePool(
  records: PoolRecords,
  hv: Hypervisor,
  net: EntryNetwork,
): Promise<{ base: Checkpoint | undefined; entries: EntryRecord[]; vms: Map<string, Vm>; report: ReconcileReport }> {
  const checkpoints = hv.checkpoints;
  let base = records.base;
  const vms = new Map<string, Vm>();
  const report: ReconcileReport = {
    adopted: [],
    dropped: [],
    killedOrphanPids: [],
    removedFiles: [],
    releasedLeases: [],
    revivedFiles: [],
    template: base ? 'kept' : 'none',
  };
  const recorded = [base, ...records.entries.map((e) => e.checkpoint)].filter((c): c is Checkpoint => c !== undefined);
  report.revivedFiles = (await checkpoints.reviveCheckpoints?.(recorded)) ?? [];
  const intact = (cp: Checkpoint) => checkpoints.checkpointIntact(cp);

  // Another build of the guest: a checkpoint of the old one cannot restore over the new image. Idle entries go with
  // it; sandboxes handed out (checked out or paused) keep the old image's files and live on.
  const stale = staleEntries(records.base, records.entries, records.imageName);
  if (stale.base) {
    await checkpoints.removeCheckpoint(stale.base);
    base = undefined;
    report.template = 'stale';
  }
  const entries: EntryRecord[] = [];
  for (const e of records.entries) {
    if (stale.entries.has(e)) {
      if (e.vm) {
        const vm = await hv.adopt(e.vm);
        if (vm) await vm.destroy();
        else await hv.cleanup(e.vm);
      }
      if (e.checkpoint) await checkpoints.removeCheckpoint(e.checkpoint);
      if (e.net) await net.release(e.net.id).catch(() => undefined);
      report.dropped.push(e.id);
      continue;
    }
    const vm = e.vm ? await hv.adopt(e.vm) : undefined;
    if (e.vm && !vm) await hv.cleanup(e.vm);
    const checkpointIntact = !vm && e.checkpoint ? await intact(e.checkpoint) : false;
    switch (entryFate(e, vm !== undefined, checkpointIntact)) {
      case 'adopt':
        // An idle hot entry whose controller died in the middle of its checkout may run: idle VMs stay stopped.
        if (e.tier === 'hot' && e.status === 'idle') await vm!.pause();
        vms.set(e.id, vm!);
        entries.push(e);
        report.adopted.push(e.id);
        break;
      case 'keep-as-durable':
        // The VM died but its checkpoint is intact: keep it as a durable entry.
        entries.push(asDurable(e));
        break;
      case 'keep':
        entries.push(e);
        break;
      case 'drop':
        report.dropped.push(e.id);
        if (e.checkpoint) await checkpoints.removeCheckpoint(e.checkpoint);
        if (e.net) await net.release(e.net.id).catch(() => undefined);
    }
  }
  if (base) {
    if (!(await intact(base))) {
      await checkpoints.removeCheckpoint(base);
      base = undefined;
      report.template = 'lost';
    } else if (base.memoryFile && report.revivedFiles.includes(base.memoryFile)) report.template = 'revived';
  }

  // Orphan VMs: running under this pool's run directory but recorded by no entry.
  for (const p of orphanVms((await hv.listRunning?.(records.runDir)) ?? [], entries)) {
    if (hv.stopRunning) await hv.stopRunning(p);
    report.killedOrphanPids.push(p.pid);
  }
  for (const full of orphanRunDirs(
    records.runDir,
    await readdir(records.runDir).catch(() => [] as string[]),
    entries,
  )) {
    await rm(full, { recursive: true, force: true });
    report.removedFiles.push(full);
  }

  // Orphan files: checkpoints and memory images no entry and no template checkpoint references.
  report.removedFiles.push(
    ...(await checkpoints.removeOrphanFiles(
      { checkpointDir: records.checkpointDir, runDir: records.runDir, ...poolOwnership(records.template) },
      referencedFiles(base, entries),
    )),
  );

  // Leases: those the network holds for this pool that no entry owns. (A network shared by several pools must
  // be reconciled by its owner; here the pool's network is its own.)
  for (const id of unownedLeases(entries, await net.leases())) {
    await net.release(id).catch(() => undefined);
    report.releasedLeases.push(id);
  }
  return { base, entries, vms, report };
}
