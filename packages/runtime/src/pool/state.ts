import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../host/durable-files.ts';
import { checkReadBack, readBack } from '../host/read-back.ts';
import { journalLineSchema, poolStateSchema, type PoolFolders } from './state-schema.ts';
import type { Checkpoint, VmRecord } from '../hypervisor/hypervisor.ts';
import type { PoolMode } from './config.ts';
import type { NetLease } from './network.ts';

export type Tier = 'hot' | 'durable';

export interface EntryRecord {
  id: string;
  /** Where the entry sits while idle; a checked-out entry keeps the tier it came from. */
  tier: Tier | 'boot';
  /**
   * idle: ready to hand out. checked-out: handed out, its VM running. paused: handed out, then suspended to its
   * own checkpoint (memory and disk layer) with its VM gone and its network lease kept, until resumed or returned.
   */
  status: 'idle' | 'checked-out' | 'paused';
  /** Who holds a checked-out or paused entry (e.g. a gateway's sandbox id), as given at checkout. */
  label?: string;
  vm?: VmRecord;
  checkpoint?: Checkpoint;
  net?: NetLease;
  createdAt: string;
  checkedOutAt?: string;
}

export interface PoolState {
  version: 1;
  template: string;
  mode: PoolMode;
  /** The template checkpoint every entry is made from. */
  base?: Checkpoint;
  entries: EntryRecord[];
}

/**
 * The pool's state file `<stateDir>/<template>.json`, replaced durably (host/durable-files.ts writeFileAtomic). Writes are
 * serialised and coalesced: concurrent callers all resolve once a write containing their change is on disk.
 *
 * Beside it, `<template>.checkouts`: a journal of hot checkouts, one `ID ISO-TIME [LABEL]` line appended with one
 * write(2).
 * A hot checkout is on the critical path of a guest's wake-up; rewriting the whole file there costs a create, a
 * rename and an fsync (about a millisecond of CPU on a small host, competing with the guest), while the journal
 * line reaches the kernel in one syscall, so a controller killed after handing the sandbox out still finds it
 * checked out. No fsync: after a power loss a hot entry's VM is gone whatever the files say. `load` applies the
 * journal; a save that covers every line appended so far empties it. A line is never wrong to apply later: an
 * entry checked out from the hot tier is never idle again (it is returned and gone).
 */
export class PoolStateFile {
  readonly path: string;
  readonly journalPath: string;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private journalFd: number | undefined;
  /** Lines appended to the journal, and how many of them the last snapshot taken covers. */
  private appended = 0;

  /** Where the state file may name paths: VM run folders and checkpoint files of this pool only. */
  private readonly folders: PoolFolders;

  constructor(stateDir: string, template: string, runRoot: string) {
    this.path = join(stateDir, `${template}.json`);
    this.journalPath = join(stateDir, `${template}.checkouts`);
    this.folders = { runDir: join(runRoot, template), checkpointDir: join(stateDir, template) };
  }

  /**
   * The state with the journal applied, undefined when there is none. A file that fails its schema (src/pool/
   * state-schema.ts: shapes, and every path inside the pool's folders) is refused with CorruptFileError naming the
   * file and the field; nothing is changed on disk then.
   */
  async load(): Promise<PoolState | undefined> {
    const parsed = (await readBack(this.path, poolStateSchema(this.folders), { asWritten: true })) as
      | PoolState
      | undefined;
    if (!parsed) return undefined;
    const journal = await readFile(this.journalPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw e;
    });
    const lines = journal.split('\n');
    const numbered = Object.fromEntries(
      lines.map((line, i) => [`line ${i + 1}`, line.split(' ')]).filter((_, i) => lines[i] !== ''),
    );
    const checkouts = await checkReadBack(this.journalPath, numbered, z.record(z.string(), journalLineSchema));
    // Kept open so the next save, which covers these lines, empties it.
    if (journal) this.journalFd = openSync(this.journalPath, 'a', 0o600);
    for (const [id, at, label] of Object.values(checkouts)) {
      const entry = parsed.entries.find((e) => e.id === id);
      if (entry) Object.assign(entry, { status: 'checked-out', checkedOutAt: at }, label ? { label } : {});
    }
    return parsed;
  }

  save(snapshot: () => PoolState): Promise<void> {
    this.dirty = true;
    this.writing = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const covered = this.appended;
      await writeFileAtomic(this.path, JSON.stringify(snapshot()) + '\n');
      // Synchronous, like the appends: no append can slip in between the check and the truncation.
      if (this.journalFd !== undefined && this.appended === covered) ftruncateSync(this.journalFd, 0);
    });
    return this.writing;
  }

  /** Records a hot checkout: when this returns, the line is in the kernel (a SIGKILL'd controller's successor sees it). */
  journalCheckout(id: string, at: string, label?: string): void {
    this.journalFd ??= openSync(this.journalPath, 'a', 0o600);
    writeSync(this.journalFd, label ? `${id} ${at} ${label}\n` : `${id} ${at}\n`);
    this.appended++;
  }

  async close(): Promise<void> {
    await this.writing;
    if (this.journalFd !== undefined) closeSync(this.journalFd);
    this.journalFd = undefined;
  }

  async remove(): Promise<void> {
    await this.close();
    await rm(this.path, { force: true });
    await rm(this.journalPath, { force: true });
  }
}
