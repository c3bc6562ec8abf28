/**
 * Where a QEMU process's memory goes, from /proc/PID/smaps (one entry per mapping) and /proc/PID/status (VmPTE).
 * Every mapping's PSS lands in exactly one part, so the parts other than page tables add up to the process's PSS:
 *
 *   guest-dirtied   the guest-RAM mapping's anonymous pages: with a template, the pages copied on write since the
 *                   restore (the mapping is the template memory file mapped private); without one, the resident pages
 *                   of the guest's private copy (QEMU's anonymous guest RAM)
 *   template-share  the rest of the guest-RAM mapping's PSS: this VM's share of the template file's pages it maps
 *   tcg-cache       anonymous executable mappings: TCG's translation cache (code_gen_buffer, tb-size bytes, made
 *                   read-write-execute; QEMU makes no other anonymous executable mapping)
 *   heap            every other anonymous mapping: [heap], malloc arenas, thread stacks, QEMU's own buffers
 *   other           the rest: the QEMU binary and its libraries (file-backed), [vdso] and the like
 *   page-tables     VmPTE: kernel memory, not part of PSS
 */
import { readFile, stat } from 'node:fs/promises';

const KiB = 1024;

export interface Mapping {
  perms: string;
  inode: number;
  /** The path or pseudo-name ([heap], [stack], [vdso]…), '' for an unnamed anonymous mapping. */
  name: string;
  sizeBytes: number;
  pssBytes: number;
  anonymousBytes: number;
  /** Two-letter flags from the VmFlags line (e.g. "dc": not copied on fork). */
  vmFlags: string[];
}

const HEADER = /^[0-9a-f]+-[0-9a-f]+ ([-rwxsp]{4}) [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ (\d+)\s*(.*)$/;
const FIELD = /^(\w+):\s+(\d+) kB$/;

/** Parses the text of /proc/PID/smaps; `source` names it in errors. */
export function parseSmaps(text: string, source: string): Mapping[] {
  const mappings: Mapping[] = [];
  let current: (Mapping & { seen: Set<string> }) | undefined;
  const finish = () => {
    if (!current) return;
    for (const f of ['Size', 'Pss', 'Anonymous']) {
      if (!current.seen.has(f))
        throw new Error(`${source}: the mapping of "${current.name || 'anonymous'}" has no ${f} line`);
    }
    const { seen: _seen, ...m } = current;
    mappings.push(m);
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const header = HEADER.exec(line);
    if (header) {
      finish();
      current = {
        perms: header[1]!,
        inode: Number(header[2]),
        name: header[3]!.trim(),
        sizeBytes: 0,
        pssBytes: 0,
        anonymousBytes: 0,
        vmFlags: [],
        seen: new Set(),
      };
      continue;
    }
    if (!current) throw new Error(`${source}: expected a mapping header, got "${line}"`);
    if (line.startsWith('VmFlags:')) {
      current.vmFlags = line.slice('VmFlags:'.length).trim().split(/\s+/).filter(Boolean);
      continue;
    }
    const field = FIELD.exec(line);
    if (!field) continue; // THPeligible, ProtectionKey: not sizes
    const bytes = Number(field[2]) * KiB;
    if (field[1] === 'Size') current.sizeBytes = bytes;
    else if (field[1] === 'Pss') current.pssBytes = bytes;
    else if (field[1] === 'Anonymous') current.anonymousBytes = bytes;
    current.seen.add(field[1]!);
  }
  finish();
  if (mappings.length === 0) throw new Error(`${source}: no mappings`);
  return mappings;
}

/** How to find the guest's RAM among the mappings. */
export type GuestRam =
  /** Template sharing: the template memory file (by inode: the pool may map it through a hard link), mapped private. */
  | { kind: 'template-file'; inode: number; bytes: number }
  /** memory-backend-ram: the one anonymous mapping of exactly the guest's size that QEMU marked not-copied-on-fork. */
  | { kind: 'anonymous'; bytes: number };

/** The template memory file as GuestRam. */
export async function templateGuestRam(memoryFile: string, bytes: number): Promise<GuestRam> {
  return { kind: 'template-file', inode: (await stat(memoryFile)).ino, bytes };
}

export interface QemuMemory {
  pssBytes: number;
  guestDirtiedBytes: number;
  templateShareBytes: number;
  tcgCacheBytes: number;
  heapBytes: number;
  otherBytes: number;
  pageTablesBytes: number;
  /** The summed size of the mappings taken for the translation cache (to compare with tb-size). */
  tcgMappedBytes: number;
}

export const QEMU_MEMORY_PARTS = [
  'guestDirtiedBytes',
  'templateShareBytes',
  'tcgCacheBytes',
  'heapBytes',
  'otherBytes',
  'pageTablesBytes',
] as const;

const ANONYMOUS_NAMES = /^(|\[heap\]|\[stack\]|\[stack:\d+\]|\[anon:.*\])$/;

function isAnonymous(m: Mapping): boolean {
  return m.inode === 0 && ANONYMOUS_NAMES.test(m.name);
}

function isGuestRam(m: Mapping, ram: GuestRam): boolean {
  if (m.sizeBytes !== ram.bytes) return false;
  if (ram.kind === 'template-file') return m.inode === ram.inode && m.perms.endsWith('p');
  return isAnonymous(m) && m.vmFlags.includes('dc');
}

/**
 * Splits one QEMU process's mappings into the parts above. Throws when the guest's RAM is not exactly one mapping,
 * or when `tbSizeBytes` is given (TCG) and the executable anonymous mappings do not add up to the translation
 * cache's size (less one guard page per region, at most 1 MiB of them).
 */
export function classifyQemuMemory(
  mappings: readonly Mapping[],
  ram: GuestRam,
  pageTablesBytes: number,
  tbSizeBytes: number | undefined,
  source: string,
): QemuMemory {
  const ramMappings = mappings.filter((m) => isGuestRam(m, ram));
  if (ramMappings.length !== 1) {
    const what =
      ram.kind === 'template-file'
        ? `private mapping of the template file (inode ${ram.inode})`
        : 'anonymous not-copied-on-fork ("dc") mapping';
    throw new Error(`${source}: expected one ${what} of ${ram.bytes} bytes as guest RAM, found ${ramMappings.length}`);
  }
  const guest = ramMappings[0]!;
  const tcg = mappings.filter((m) => m !== guest && isAnonymous(m) && m.perms[2] === 'x');
  const tcgMappedBytes = tcg.reduce((s, m) => s + m.sizeBytes, 0);
  if (tbSizeBytes !== undefined && !(tcgMappedBytes <= tbSizeBytes && tcgMappedBytes > tbSizeBytes - 2 ** 20)) {
    throw new Error(
      `${source}: the executable anonymous mappings (TCG's translation cache) add up to ${tcgMappedBytes} bytes, tb-size is ${tbSizeBytes}`,
    );
  }
  const heap = mappings.filter((m) => m !== guest && !tcg.includes(m) && isAnonymous(m));
  const sum = (ms: readonly Mapping[]) => ms.reduce((s, m) => s + m.pssBytes, 0);
  const pssBytes = sum(mappings);
  const guestDirtiedBytes = Math.min(guest.anonymousBytes, guest.pssBytes);
  const templateShareBytes = guest.pssBytes - guestDirtiedBytes;
  const tcgCacheBytes = sum(tcg);
  const heapBytes = sum(heap);
  return {
    pssBytes,
    guestDirtiedBytes,
    templateShareBytes,
    tcgCacheBytes,
    heapBytes,
    otherBytes: pssBytes - guest.pssBytes - tcgCacheBytes - heapBytes,
    pageTablesBytes,
    tcgMappedBytes,
  };
}

/** classifyQemuMemory over a live process's /proc/PID/smaps and VmPTE. */
export async function qemuMemory(pid: number, ram: GuestRam, tbSizeBytes: number | undefined): Promise<QemuMemory> {
  const smaps = `/proc/${pid}/smaps`;
  const mappings = parseSmaps(await readFile(smaps, 'utf8'), smaps);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const pte = /^VmPTE:\s+(\d+) kB$/m.exec(status);
  if (!pte) throw new Error(`/proc/${pid}/status has no VmPTE`);
  return classifyQemuMemory(mappings, ram, Number(pte[1]) * KiB, tbSizeBytes, smaps);
}

/** qemuMemory of each process, summed (tcgMappedBytes: the largest one, for the record). */
export async function qemusMemory(
  pids: readonly number[],
  ram: GuestRam,
  tbSizeBytes: number | undefined,
): Promise<QemuMemory> {
  const total: QemuMemory = {
    pssBytes: 0,
    guestDirtiedBytes: 0,
    templateShareBytes: 0,
    tcgCacheBytes: 0,
    heapBytes: 0,
    otherBytes: 0,
    pageTablesBytes: 0,
    tcgMappedBytes: 0,
  };
  for (const pid of pids) {
    const m = await qemuMemory(pid, ram, tbSizeBytes);
    for (const k of Object.keys(total) as (keyof QemuMemory)[])
      total[k] = k === 'tcgMappedBytes' ? Math.max(total[k], m[k]) : total[k] + m[k];
  }
  return total;
}
