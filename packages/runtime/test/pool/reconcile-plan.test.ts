/** A pool's reconcile decisions as pure functions of its records and what the host holds (no VM needed). */
import { describe, expect, it } from 'vitest';
import type { Checkpoint, VmRecord } from '../../src/hypervisor/hypervisor.ts';
import {
  asDurable,
  entryFate,
  orphanRunDirs,
  orphanVms,
  poolOwnership,
  referencedFiles,
  staleEntries,
  unownedLeases,
} from '../../src/pool/reconcile-plan.ts';
import type { EntryRecord } from '../../src/pool/state.ts';

const cp = (name: string, memoryFile?: string): Checkpoint => ({
  hypervisor: 'qemu',
  hypervisorVersion: '7.2',
  image: 'img',
  memory: 'template',
  path: `/s/${name}.state`,
  files: [`/s/${name}.state`],
  ...(memoryFile ? { memoryFile } : {}),
  bytes: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
});
const vm = (runDir: string): VmRecord => ({
  hypervisor: 'qemu',
  name: 'x',
  pid: 1,
  pidStartTime: '1',
  runDir,
  spec: {} as VmRecord['spec'],
  detail: {},
});
const entry = (id: string, extra: Partial<EntryRecord> = {}): EntryRecord => ({
  id,
  tier: 'hot',
  status: 'idle',
  createdAt: '2026-01-01T00:00:00.000Z',
  ...extra,
});

describe('pool reconcile plan', () => {
  it('adopts a live VM, keeps an intact checkpoint (as durable when its VM died), drops the rest', () => {
    const withVm = entry('a', { vm: vm('/r/a'), checkpoint: cp('a') });
    const durable = entry('b', { tier: 'durable', checkpoint: cp('b') });
    expect(entryFate(withVm, true, false)).toBe('adopt');
    expect(entryFate(withVm, false, true)).toBe('keep-as-durable');
    expect(entryFate(withVm, false, false)).toBe('drop');
    expect(entryFate(durable, false, true)).toBe('keep');
    expect(entryFate(durable, false, false)).toBe('drop');
    expect(entryFate(entry('c', { vm: vm('/r/c') }), false, false)).toBe('drop');
    expect(asDurable({ ...withVm, status: 'checked-out' })).toEqual({
      ...withVm,
      vm: undefined,
      tier: 'durable',
      status: 'idle',
    });
  });

  it('finds running VMs and run folders no entry records', () => {
    const entries = [entry('a', { vm: vm('/r/t/a') }), entry('b')];
    expect(
      orphanVms(
        [
          { pid: 10, runDir: '/r/t/a' },
          { pid: 11, runDir: '/r/t/z' },
        ],
        entries,
      ),
    ).toEqual([{ pid: 11, runDir: '/r/t/z' }]);
    expect(orphanRunDirs('/r/t', ['a', 'z', 'y'], entries)).toEqual(['/r/t/z', '/r/t/y']);
  });

  it('references every file and memory file of the template and the entries', () => {
    const files = referencedFiles(cp('base', '/dev/shm/base.mem'), [
      entry('a', { checkpoint: cp('a', '/dev/shm/base.mem') }),
      entry('b'),
    ]);
    expect([...files].sort()).toEqual(['/dev/shm/base.mem', '/s/a.state', '/s/base.state']);
  });

  it('owns only the names its template gives checkpoints and VMs', () => {
    const own = poolOwnership('deb-256');
    expect(['deb-256-base.state', 'deb-256-1a2b3c4d.state'].map(own.ownsCheckpoint)).toEqual([true, true]);
    expect(
      ['deb-2560-1a2b3c4d.state', 'deb-256-1a2b3c4.state', 'deb-256-base.state.tmp', 'other-base.state'].map(
        own.ownsCheckpoint,
      ),
    ).toEqual([false, false, false, false]);
    expect(['cp-deb-256-tpl', 'cp-deb-256-0badcafe'].map(own.ownsVm)).toEqual([true, true]);
    expect(['cp-deb-2567-tpl', 'deb-256-tpl', 'cp-deb-256-tpl2'].map(own.ownsVm)).toEqual([false, false, false]);
  });

  it('releases leases no entry owns', () => {
    const net = (id: string) => ({ id, vm: { tap: 't', mac: '52:54:00:00:00:01', address: '10.0.0.2/24' } });
    expect(unownedLeases([entry('a', { net: net('L1') }), entry('b')], ['L1', 'L2'])).toEqual(['L2']);
  });

  it('finds what another build of the guest image leaves unusable: the template and idle entries, not sandboxes', () => {
    const base = cp('base');
    const idleOld = entry('a', { tier: 'durable', checkpoint: cp('a') });
    const idleNew = entry('b', { tier: 'durable', checkpoint: { ...cp('b'), image: 'img-2' } });
    const handedOut = entry('c', { status: 'checked-out', checkpoint: cp('c') });
    const paused = entry('d', { status: 'paused', checkpoint: cp('d') });
    const stale = staleEntries(base, [idleOld, idleNew, handedOut, paused], 'img-2');
    expect(stale.base).toBe(base);
    expect([...stale.entries]).toEqual([idleOld]);
    const same = staleEntries(base, [idleOld], 'img');
    expect(same.base).toBeUndefined();
    expect(same.entries.size).toBe(0);
  });
});
