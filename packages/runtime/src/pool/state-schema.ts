/**
 * What a pool's state file must hold to be acted on (zod): the shapes of src/pool/state.ts, and every path the pool
 * later removes inside the folder that owns it: a VM's run folder inside `<runRoot>/<template>`, a checkpoint's
 * files inside the pool's checkpoint folder `<stateDir>/<template>`.
 */
import { z } from 'zod';
import { isInside } from '../host/paths.ts';
import { POOL_MODES } from './config.ts';

/** The folders a pool's state file may name paths in. */
export interface PoolFolders {
  /** `<runRoot>/<template>`: VM run folders (removed recursively when a VM goes). */
  runDir: string;
  /** `<stateDir>/<template>`: checkpoint files. */
  checkpointDir: string;
}

const text = z.string().min(1).max(4096);
const absolutePath = text.refine((p) => p.startsWith('/') && !p.includes('\0'), 'expected an absolute path');
const hypervisorKind = z.enum(['qemu', 'bhyve']);
const isoTime = z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'expected an ISO date-time');

/** A checkout's label: it is written into the journal as one space-separated word. */
export const entryLabel = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1-64 of [A-Za-z0-9_.:-]');

function inside(folder: string) {
  return absolutePath.refine(async (p) => isInside(folder, p), `expected a path inside ${folder}`);
}

const guestImage = z.object({
  name: text,
  kernel: absolutePath.optional(),
  initrd: absolutePath.optional(),
  disk: absolutePath.optional(),
  rootDisk: absolutePath.optional(),
  bootrom: absolutePath.optional(),
  memoryMiB: z.number().int().positive(),
  vcpus: z.number().int().positive(),
  cmdline: z.string().optional(),
});

const vmNetwork = z.object({ tap: text, mac: text, address: text, gateway: text.optional() });

/** A checkpoint record whose own files lie in `checkpointDir`. */
export function checkpointSchema(checkpointDir: string) {
  return z.object({
    hypervisor: hypervisorKind,
    hypervisorVersion: z.string(),
    image: text,
    memory: z.enum(['template', 'private']),
    path: inside(checkpointDir),
    files: z.array(inside(checkpointDir)),
    // Backend-owned (QEMU: its tmpfs folder; bhyve: next to the checkpoint), removed as a single file, never a tree.
    memoryFile: absolutePath.refine((p) => !p.split('/').includes('..'), 'expected a path without ..').optional(),
    memoryImage: inside(checkpointDir).optional(),
    disk: inside(checkpointDir).optional(),
    bytes: z.number().int().nonnegative(),
    createdAt: isoTime,
  });
}

export function poolStateSchema(folders: PoolFolders) {
  const checkpoint = checkpointSchema(folders.checkpointDir);
  const vmRecord = z.object({
    hypervisor: hypervisorKind,
    name: text,
    pid: z.number().int().positive(),
    pidStartTime: z.string(),
    runDir: inside(folders.runDir),
    spec: z.object({
      name: text,
      image: guestImage,
      network: vmNetwork.optional(),
      memory: z.enum(['template', 'private']),
      runDir: inside(folders.runDir),
    }),
    detail: z.record(z.string(), z.string()),
  });
  const entry = z.object({
    id: text,
    tier: z.enum(['hot', 'durable', 'boot']),
    status: z.enum(['idle', 'checked-out', 'paused']),
    label: entryLabel.optional(),
    vm: vmRecord.optional(),
    checkpoint: checkpoint.optional(),
    net: z.object({ id: text, vm: vmNetwork }).optional(),
    createdAt: isoTime,
    checkedOutAt: isoTime.optional(),
  });
  return z.object({
    version: z.literal(1),
    template: text,
    mode: z.enum(POOL_MODES as [string, ...string[]]).transform((m) => m as (typeof POOL_MODES)[number]),
    base: checkpoint.optional(),
    entries: z.array(entry),
  });
}

/** One line of the hot checkout journal: `ID ISO-TIME [LABEL]`. */
export const journalLineSchema = z.union([
  z.tuple([text.regex(/^[a-z0-9-]+$/, 'expected an entry id'), isoTime]),
  z.tuple([text.regex(/^[a-z0-9-]+$/, 'expected an entry id'), isoTime, entryLabel]),
]);
