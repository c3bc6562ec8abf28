/**
 * The density rig's QEMU memory breakdown against real QEMU processes (TCG, held at startup with -S so no guest code
 * runs): the guest-RAM mapping and the translation cache must be found in a real /proc/PID/smaps, and the parts
 * must add up to the process's PSS as smaps_rollup reports it.
 */
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildProcesses } from '../../src/harness/child-processes.ts';
import { qemuMemory, templateGuestRam, type GuestRam } from '../../src/rigs/density/qemu-memory.ts';

const hasQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const MiB = 2 ** 20;
const GUEST = 64 * MiB;
const TB = 4 * MiB;

const kids = new ChildProcesses();
const files: string[] = [];

afterEach(async () => {
  await kids.terminateAll(500);
  for (const f of files.splice(0)) await rm(f, { force: true });
});

/** A TCG QEMU held before its first instruction (-S); resolves once QMP greets, i.e. the machine (and its RAM) is set up. */
async function startQemu(backend: string): Promise<number> {
  const child = kids.spawn(
    [
      'qemu-system-x86_64',
      '-machine',
      'microvm,memory-backend=mem',
      '-accel',
      `tcg,tb-size=${TB / MiB}`,
      '-m',
      `${GUEST / MiB}M`,
      '-object',
      backend,
      '-display',
      'none',
      '-nodefaults',
      '-no-user-config',
      '-S',
      '-qmp',
      'stdio',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"QMP"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`qemu exited (${code}) before greeting`)));
  });
  return child.pid!;
}

async function rollupPss(pid: number): Promise<number> {
  return Number(/^Pss:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8'))![1]) * 1024;
}

describe.skipIf(!hasQemu)('QEMU memory by mapping, on real QEMU processes', () => {
  it('finds the template file mapped private as guest RAM (untouched: nothing dirtied) and the 4 MiB translation cache', async () => {
    const file = `/dev/shm/coppice-test-density-mem-${process.pid}`;
    files.push(file);
    await writeFile(file, Buffer.alloc(GUEST));
    const pid = await startQemu(`memory-backend-file,id=mem,size=${GUEST}B,mem-path=${file},share=off`);
    const ram = await templateGuestRam(file, GUEST);
    // QEMU still settles for a moment after the greeting: compare with smaps_rollup once two rollups around it agree.
    let m = await qemuMemory(pid, ram, TB);
    let [before, after] = [-1, -2];
    for (let i = 0; before !== after && i < 20; i++) {
      await new Promise((r) => setTimeout(r, 200));
      before = await rollupPss(pid);
      m = await qemuMemory(pid, ram, TB);
      after = await rollupPss(pid);
    }
    expect(before).toBe(after);
    // smaps truncates each mapping's PSS to whole kB; the rollup sums before truncating.
    const mappings = (await readFile(`/proc/${pid}/smaps`, 'utf8')).match(/^Pss:/gm)!.length;
    expect(Math.abs(m.pssBytes - after)).toBeLessThanOrEqual(mappings * 1024);
    expect(m.tcgMappedBytes).toBeGreaterThan(TB - MiB);
    expect(m.tcgMappedBytes).toBeLessThanOrEqual(TB);
    expect(m.guestDirtiedBytes).toBeLessThan(MiB);
    expect(m.heapBytes).toBeGreaterThan(MiB);
    expect(m.otherBytes).toBeGreaterThan(MiB); // the QEMU binary's pages at least
    expect(m.pageTablesBytes).toBeGreaterThan(0);
    expect(m.guestDirtiedBytes + m.templateShareBytes + m.tcgCacheBytes + m.heapBytes + m.otherBytes).toBe(m.pssBytes);
    // Another file's inode is not this guest's RAM.
    const inode = ram.kind === 'template-file' ? ram.inode : 0;
    await expect(qemuMemory(pid, { kind: 'template-file', inode: inode + 1, bytes: GUEST }, TB)).rejects.toThrow(
      /found 0/,
    );
  }, 30_000);

  it("counts every page of preallocated private guest RAM as the guest's own, and the template file's pages the same way once written", async () => {
    const anonPid = await startQemu(`memory-backend-ram,id=mem,size=${GUEST}B,prealloc=on`);
    const anon = await qemuMemory(anonPid, { kind: 'anonymous', bytes: GUEST }, TB);
    expect(anon.guestDirtiedBytes).toBe(GUEST);
    expect(anon.templateShareBytes).toBe(0);

    // prealloc on a private file mapping writes every page: each is copied on write, none is the template's any more.
    const file = `/dev/shm/coppice-test-density-mem2-${process.pid}`;
    files.push(file);
    await writeFile(file, Buffer.alloc(GUEST, 1));
    const filePid = await startQemu(`memory-backend-file,id=mem,size=${GUEST}B,mem-path=${file},share=off,prealloc=on`);
    const ram: GuestRam = await templateGuestRam(file, GUEST);
    const cow = await qemuMemory(filePid, ram, TB);
    expect(cow.guestDirtiedBytes).toBe(GUEST);
    expect(cow.templateShareBytes).toBe(0);
  }, 30_000);
});
