/**
 * The QEMU backend's process logic against a fake QemuSystem (no root, no QEMU): pid-reuse guards on adopt, kill
 * and stop, orphan discovery by run directory, pause stopping the guest's clock and waiting for the stop to show, and
 * a pool's reconcile on open.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandRunner } from '../../src/host/command-runner.ts';
import type { VmRecord, VmSpec } from '../../src/hypervisor/hypervisor.ts';
import { DEFAULT_BOOT_TB_SIZE_MIB, QemuHypervisor } from '../../src/hypervisor/qemu/qemu.ts';
import { isSameProcess } from '../../src/hypervisor/qemu/process.ts';
import type { QemuProcess, QemuSystem } from '../../src/hypervisor/qemu/system.ts';
import { defaultPoolConfig, Pool, type PoolState } from '../../src/pool/index.ts';
import { fakeQemu } from './fake-qmp.ts';

interface FakeProcess {
  startTime: string;
  state: string;
  argv: string[];
  /** State reads left before a SIGSTOP shows as "T" (the kernel stops a multi-threaded process asynchronously). */
  stopLag: number;
}

/** Processes and paths in memory; refuses what the kernel refuses (signals to a pid that does not exist). */
class FakeQemuSystem implements QemuSystem {
  readonly procs = new Map<number, FakeProcess>();
  readonly removed: string[] = [];
  readonly killed: number[] = [];
  readonly signals: string[] = [];

  add(pid: number, startTime: string, argv: string[], stopLag = 0): void {
    this.procs.set(pid, { startTime, state: 'S', argv, stopLag });
  }

  async spawn(_argv: readonly string[]): Promise<QemuProcess> {
    throw new Error('the fake starts no QEMU');
  }
  async startTime(pid: number) {
    return this.procs.get(pid)?.startTime;
  }
  async state(pid: number) {
    const p = this.procs.get(pid);
    if (p?.state === 'stopping' && p.stopLag-- <= 0) p.state = 'T';
    return p?.state === 'stopping' ? 'S' : p?.state;
  }
  signal(pid: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
    const p = this.procs.get(pid);
    if (!p) throw Object.assign(new Error(`kill ESRCH ${pid}`), { code: 'ESRCH' });
    this.signals.push(`${signal} ${pid}`);
    p.state = signal === 'SIGSTOP' ? 'stopping' : 'S';
  }
  async killAndWait(pid: number, startTime: string | undefined): Promise<void> {
    if (startTime !== undefined && !(await isSameProcess(pid, startTime, this))) return;
    if (this.procs.delete(pid)) this.killed.push(pid);
  }
  async memoryOf() {
    return { rssBytes: 1 << 20 };
  }
  async processes() {
    return [...this.procs].map(([pid, p]) => ({ pid, argv: p.argv }));
  }
  async makeRunDir(): Promise<void> {}
  async remove(path: string): Promise<void> {
    this.removed.push(path);
  }
}

const noRunner: CommandRunner = { run: () => Promise.reject(new Error('no commands here')) };
const image = { name: 'img', kernel: '/k', initrd: '/i', memoryMiB: 128, vcpus: 1 };
const qemuArgs = (runDir: string) => [
  '/usr/bin/qemu-system-x86_64',
  '-M',
  'microvm',
  '-chardev',
  `socket,id=s,path=${runDir}/serial.sock,server=on`,
];

function record(pid: number, startTime: string, runDir: string, ownedFiles = ''): VmRecord {
  const spec: VmSpec = { name: `vm-${pid}`, image, memory: 'template', runDir };
  return {
    hypervisor: 'qemu',
    name: spec.name,
    pid,
    pidStartTime: startTime,
    runDir,
    spec,
    detail: {
      qmpSocket: `${runDir}/qmp.sock`,
      serialSocket: `${runDir}/serial.sock`,
      memFile: '',
      ownedFiles,
      sharedRam: 'true',
    },
  };
}

describe('QEMU backend logic on a fake system', () => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) s.close();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('adopts only the process a record names (same start time, not a zombie); pause stops the clock, then waits until the stop shows', async () => {
    const system = new FakeQemuSystem();
    const hv = new QemuHypervisor({ runner: noRunner, system });
    const runDir = await mkdtemp(join(tmpdir(), 'cpt-qsys-'));
    dirs.push(runDir);
    // QEMU's monitor, which (like the real one) answers nothing while its process is stopped.
    const qmp = await fakeQemu(join(runDir, 'qmp.sock'), (cmd, sock) => {
      const state = system.procs.get(100)?.state;
      if (state === 'T' || state === 'stopping') return;
      if (cmd.execute !== 'qmp_capabilities') system.signals.push(`qmp ${cmd.execute}`);
      sock.write(JSON.stringify({ return: {} }) + '\r\n');
    });
    servers.push(qmp);
    system.add(100, '555', qemuArgs(runDir), 3);
    system.add(101, '999', ['/bin/sleep', '1000']); // pid reused by another program
    expect(await hv.adopt(record(101, '777', '/run/x/b'))).toBeUndefined();
    expect(await hv.adopt(record(102, '1', '/run/x/c'))).toBeUndefined(); // gone
    system.add(103, '42', qemuArgs('/run/x/d'));
    system.procs.get(103)!.state = 'Z';
    expect(await hv.adopt(record(103, '42', '/run/x/d'))).toBeUndefined();

    const vm = (await hv.adopt(record(100, '555', runDir)))!;
    expect(vm.pid).toBe(100);
    await vm.pause();
    expect(system.procs.get(100)!.state).toBe('T');
    expect((await vm.stats()).state).toBe('paused');
    // Parked already (e.g. adopted after a restart): no QMP to a process that cannot answer it.
    await vm.pause();
    await vm.resume();
    expect(system.signals).toEqual(['qmp stop', 'SIGSTOP 100', 'SIGSTOP 100', 'SIGCONT 100', 'qmp cont']);
    await vm.destroy();
    expect(system.killed).toEqual([100]);
    expect(system.removed).toEqual([runDir]);
    expect((await vm.stats()).state).toBe('gone');
  });

  it('cleanup and stopRunning never kill a pid that is another process now, and always clean the files', async () => {
    const system = new FakeQemuSystem();
    const hv = new QemuHypervisor({ runner: noRunner, system });
    system.add(200, '10', ['/usr/sbin/sshd']);
    await hv.cleanup(record(200, '9', '/run/x/e', '/dev/shm/coppice-vm-e.mem'));
    await hv.stopRunning({ pid: 200, runDir: '/run/x/f', pidStartTime: '9' });
    expect(system.killed).toEqual([]);
    expect(system.procs.has(200)).toBe(true);
    expect(system.removed).toEqual(['/dev/shm/coppice-vm-e.mem', '/run/x/e', '/run/x/f']);
  });

  it('finds QEMU processes by the run directory of their serial socket, only under the run root', async () => {
    const system = new FakeQemuSystem();
    const hv = new QemuHypervisor({ runner: noRunner, system });
    system.add(300, '1', qemuArgs('/run/pool/tpl/e1'));
    system.add(301, '2', qemuArgs('/run/pool/tpl2/e1')); // a sibling pool whose name extends this one's
    system.add(302, '3', ['/bin/sh', '-c', 'echo path=/run/pool/tpl/e2/serial.sock']); // not QEMU
    system.add(303, '4', ['/usr/bin/qemu-system-x86_64', '-M', 'microvm']); // QEMU without a serial socket
    expect(await hv.listRunning('/run/pool/tpl')).toEqual([
      { pid: 300, runDir: '/run/pool/tpl/e1', pidStartTime: '1' },
    ]);
  });

  it("a pool's reconcile on open drops an entry whose pid was reused and kills an unrecorded VM under its run folder", async () => {
    const root = await mkdtemp(join(tmpdir(), 'cpt-qsys-'));
    dirs.push(root);
    const system = new FakeQemuSystem();
    const hv = new QemuHypervisor({ runner: noRunner, system, shmDir: join(root, 'shm') });
    const config = {
      ...defaultPoolConfig('cpt-qs', image, 'prewarm'),
      stateDir: join(root, 'state'),
      runRoot: join(root, 'run'),
      refill: 'manual' as const,
    };
    const runDir = join(config.runRoot, 'cpt-qs');
    const reused = record(400, '50', join(runDir, 'cpt-qs-0000000a'));
    system.add(400, '51', ['/usr/bin/vim']);
    system.add(401, '60', qemuArgs(join(runDir, 'cpt-qs-0000000b')));
    const state: PoolState = {
      version: 1,
      template: 'cpt-qs',
      mode: 'prewarm',
      entries: [
        { id: 'cpt-qs-0000000a', tier: 'hot', status: 'idle', vm: reused, createdAt: new Date().toISOString() },
      ],
    };
    await mkdir(config.stateDir, { recursive: true });
    await writeFile(join(config.stateDir, 'cpt-qs.json'), JSON.stringify(state));
    const pool = await Pool.open({ config, hypervisor: hv });
    try {
      expect(pool.lastReconcile).toMatchObject({ adopted: [], dropped: ['cpt-qs-0000000a'], killedOrphanPids: [401] });
      expect(pool.list()).toEqual([]);
      expect(system.procs.has(400)).toBe(true); // vim lives on
      expect(system.killed).toEqual([401]);
      expect(system.removed).toContain(join(runDir, 'cpt-qs-0000000a'));
    } finally {
      await pool.close();
    }
  });
  it("boots with the boot translation cache and keeps the clones' one for restores", async () => {
    const spawned: string[][] = [];
    const system = new (class extends FakeQemuSystem {
      override async spawn(argv: readonly string[]): Promise<QemuProcess> {
        spawned.push([...argv]);
        throw new Error('the fake starts no QEMU');
      }
    })();
    const accel = { kind: 'tcg' as const, tbSizeMiB: 4 };
    const spec = (runDir: string): VmSpec => ({ name: 'vm-tb', image, memory: 'private', runDir });
    const tbOf = (argv: string[]) => argv[argv.indexOf('-accel') + 1];
    const byDefault = new QemuHypervisor({ runner: noRunner, system, accel });
    await expect(byDefault.boot(spec('/run/x/tb1'))).rejects.toThrow();
    const chosen = new QemuHypervisor({ runner: noRunner, system, accel, bootTbSizeMiB: 32 });
    await expect(chosen.boot(spec('/run/x/tb2'))).rejects.toThrow();
    const large = new QemuHypervisor({ runner: noRunner, system, accel: { kind: 'tcg', tbSizeMiB: 128 } });
    await expect(large.boot(spec('/run/x/tb3'))).rejects.toThrow();
    expect(spawned.map(tbOf)).toEqual([`tcg,tb-size=${DEFAULT_BOOT_TB_SIZE_MIB}`, 'tcg,tb-size=32', 'tcg,tb-size=128']);
  });
});
