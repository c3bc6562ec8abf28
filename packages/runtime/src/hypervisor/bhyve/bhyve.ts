/**
 * The bhyve backend (FreeBSD). A VM is a kernel object (/dev/vmm/NAME) plus the bhyve process that runs it; both
 * are cleaned: `bhyvectl --vm=NAME --destroy` runs before every start (a crashed bhyve must not leave a VM that
 * blocks the name) and after every stop. Checkpoints are `bhyvectl --suspend` files (FILE, FILE.kern, FILE.meta)
 * plus a sidecar FILE.coppice.json recording the bhyve (userland) version and the device layout: the snapshot
 * format is not stable across versions (bhyvectl(8) COMPATIBILITY), so a restore by another version is refused,
 * and a restore must use the same slots.
 */
import { runChecked } from '../../host/command-runner.ts';
import { parseReadBack } from '../../host/read-back.ts';
import {
  type Checkpoint,
  type Hypervisor,
  HypervisorError,
  type ProbeOptions,
  type RunningVm,
  type Vm,
  type VmRecord,
  type VmSpec,
  type VmStats,
  assertVmName,
  assertVmNetwork,
} from '../hypervisor.ts';
import { bootArgv, consoleDevices, destroyArgv, deviceLayout, restoreArgv, suspendArgv } from './argv.ts';
import { BhyveCheckpointStore, SIDECAR } from './checkpoints.ts';
import type { BhyveSystem, Monitor } from './system.ts';
import { monitorFileSchema, sidecarSchema, type Sidecar } from './sidecar-schema.ts';
import { type VnodeRestoreSupport, probeVnodeRestore } from './vnode-restore.ts';

/** How a restore set up guest memory: mapped over the checkpoint (patched bhyve) or copied into anonymous memory. */
export type RestoreMemoryMode = 'vnode' | 'copy';

export interface BhyveOptions {
  /** How long a starting bhyve may take to create its VM. Default 5 s. */
  startTimeoutMs?: number;
  /** How long a suspending bhyve may take to write its checkpoint and exit. Default 60 s. */
  suspendTimeoutMs?: number;
  /** First nmdm unit used for consoles. Default 1000. */
  consoleBase?: number;
}

/** Written into a VM's run directory once bhyve runs: how a restarted controller finds VMs nobody recorded. */
const MONITOR_FILE = 'bhyve.json';

export class BhyveHypervisor implements Hypervisor {
  readonly kind = 'bhyve' as const;
  readonly restoreNeedsSameDevices = true;
  readonly checkpoints: BhyveCheckpointStore;
  private nextConsole: number;
  private cachedVersion?: string;
  private vnodeSupport?: Promise<VnodeRestoreSupport>;

  constructor(
    private readonly system: BhyveSystem,
    private readonly options: BhyveOptions = {},
  ) {
    this.nextConsole = options.consoleBase ?? 1000;
    this.checkpoints = new BhyveCheckpointStore(system);
  }

  async version(): Promise<string> {
    // bhyve has no version flag; it is part of the userland, whose version freebsd-version(1) prints.
    this.cachedVersion ??= `bhyve ${(await runChecked(this.system.runner, ['freebsd-version', '-u'])).stdout.trim()}`;
    return this.cachedVersion;
  }

  /**
   * Whether this host's bhyve has the vnode-restore patch, probed once (vnode-restore.ts). Template restores use
   * `-o snapshot.vnode_restore=true` only when it does; a stock bhyve would ignore the key and copy anyway.
   */
  vnodeRestoreSupport(): Promise<VnodeRestoreSupport> {
    this.vnodeSupport ??= probeVnodeRestore(this.system.runner);
    return this.vnodeSupport;
  }

  /** What a restore of `memory` does on this host: what rigs record next to their figures. */
  async restoreMemoryMode(memory: VmSpec['memory']): Promise<RestoreMemoryMode> {
    return memory === 'template' && (await this.vnodeRestoreSupport()).supported ? 'vnode' : 'copy';
  }

  async preflight(): Promise<string[]> {
    const reasons: string[] = [];
    const r = this.system.runner;
    const vmm = await r.run(['kldstat', '-q', '-m', 'vmm']);
    if (vmm.code === 127) return ['kldstat not found: bhyve needs a FreeBSD host'];
    if (vmm.code !== 0) reasons.push('vmm(4) is not loaded: kldload vmm (and vmm_load="YES" in /boot/loader.conf)');
    if ((await r.run(['kldstat', '-q', '-m', 'nmdm'])).code !== 0)
      reasons.push('nmdm(4) is not loaded (VM consoles): kldload nmdm');
    const conf = await r.run(['sysctl', '-n', 'kern.conftxt']);
    if (conf.code !== 0 || !/options\s+BHYVE_SNAPSHOT\b/.test(conf.stdout)) {
      reasons.push(
        'the kernel lacks `options BHYVE_SNAPSHOT` (GENERIC does not have it): checkpoints and restores (durable and two-tier pools) need a kernel built with it and a bhyve/bhyvectl built WITH_BHYVE_SNAPSHOT',
      );
    }
    return reasons;
  }

  private allocateConsole(): number {
    return this.nextConsole++;
  }

  private async destroyKernelVm(name: string): Promise<void> {
    const res = await this.system.runner.run(destroyArgv(name));
    if (res.code !== 0 && !/could not be opened|No such file/.test(res.stderr)) {
      throw new HypervisorError(`bhyvectl --destroy ${name} failed: ${res.stderr.trim()}`);
    }
  }

  private checkSpec(spec: VmSpec): void {
    assertVmName(spec.name);
    if (spec.network) assertVmNetwork(spec.network);
    if (spec.network && !/^tap\d+$/.test(spec.network.tap)) {
      // bhyve picks the tap backend by the "tap" prefix of the name and opens /dev/NAME.
      throw new HypervisorError(`bhyve needs a tap(4) named tapN, got ${JSON.stringify(spec.network.tap)}`);
    }
  }

  /** Starts bhyve and resolves once the kernel VM exists; a bhyve that exits first fails with its message. */
  private async start(spec: VmSpec, argv: string[], consoleUnit: number): Promise<BhyveVm> {
    await this.system.mkdir(spec.runDir);
    await this.destroyKernelVm(spec.name);
    const monitor = await this.system.spawn(argv);
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 5000);
    let exitCode: number | undefined;
    void monitor.exited.then((c) => (exitCode = c));
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (exitCode !== undefined) {
        await this.destroyKernelVm(spec.name).catch(() => undefined);
        await this.system.remove(spec.runDir);
        throw new HypervisorError(
          `bhyve exited with status ${exitCode} starting ${spec.name}: ${monitor.stderr().trim()}`,
        );
      }
      if (await this.system.vmExists(spec.name)) break;
      if (Date.now() > deadline) {
        await this.system.signal(monitor.pid, 'SIGKILL');
        await this.destroyKernelVm(spec.name).catch(() => undefined);
        await this.system.remove(spec.runDir);
        throw new HypervisorError(`bhyve did not create VM ${spec.name} within the start timeout`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const startTime = (await this.system.startTime(monitor.pid)) ?? '';
    await this.system.writeText(
      `${spec.runDir}/${MONITOR_FILE}`,
      `${JSON.stringify({ name: spec.name, pid: monitor.pid, startTime })}\n`,
    );
    return new BhyveVm(this, this.system, spec, monitor, consoleUnit, startTime);
  }

  async boot(spec: VmSpec): Promise<Vm> {
    this.checkSpec(spec);
    const unit = this.allocateConsole();
    return this.start(spec, bootArgv(spec, unit), unit);
  }

  async restore(spec: VmSpec, checkpoint: Checkpoint): Promise<BhyveVm> {
    this.checkSpec(spec);
    if (checkpoint.hypervisor !== 'bhyve')
      throw new HypervisorError(`checkpoint ${checkpoint.path} was written by ${checkpoint.hypervisor}, not bhyve`);
    const version = await this.version();
    if (checkpoint.hypervisorVersion !== version) {
      throw new HypervisorError(
        `checkpoint ${checkpoint.path} was written by ${checkpoint.hypervisorVersion}, this host runs ${version}: the format is not stable across versions`,
      );
    }
    if (checkpoint.memory !== spec.memory)
      throw new HypervisorError(
        `checkpoint ${checkpoint.path} has ${checkpoint.memory} memory, the VM asks for ${spec.memory}`,
      );
    for (const f of [checkpoint.path, `${checkpoint.path}.kern`, `${checkpoint.path}.meta`]) {
      if ((await this.system.fileSize(f)) === undefined) throw new HypervisorError(`checkpoint file ${f} is missing`);
    }
    const sidecarText = await this.system.readText(`${checkpoint.path}${SIDECAR}`);
    if (sidecarText === undefined)
      throw new HypervisorError(`checkpoint ${checkpoint.path} has no ${SIDECAR} (not written by coppice)`);
    const sidecar = await parseReadBack(`${checkpoint.path}${SIDECAR}`, sidecarText, sidecarSchema);
    if (sidecar.hypervisorVersion !== version)
      throw new HypervisorError(
        `checkpoint ${checkpoint.path} was written by ${sidecar.hypervisorVersion}, this host runs ${version}`,
      );
    const unit = this.allocateConsole();
    const wanted = layoutKey(spec, unit);
    if (JSON.stringify(sidecar.layout) !== JSON.stringify(wanted)) {
      throw new HypervisorError(
        `checkpoint ${checkpoint.path} was taken with devices ${sidecar.layout.join(' ')}; the VM asks for ${wanted.join(' ')}`,
      );
    }
    const mode = await this.restoreMemoryMode(spec.memory);
    const vm = await this.start(spec, restoreArgv(spec, unit, checkpoint.path, mode === 'vnode'), unit);
    vm.restoreMemory = mode;
    return vm;
  }

  async writeSidecar(vm: BhyveVm, path: string): Promise<void> {
    const s: Sidecar = {
      format: 'coppice-bhyve-checkpoint/1',
      hypervisorVersion: await this.version(),
      image: vm.spec.image.name,
      memory: vm.spec.memory,
      vcpus: vm.spec.image.vcpus,
      memoryMiB: vm.spec.image.memoryMiB,
      layout: layoutKey(vm.spec, vm.consoleUnit),
    };
    await this.system.writeText(`${path}${SIDECAR}`, `${JSON.stringify(s, null, 2)}\n`);
  }

  async adopt(record: VmRecord): Promise<Vm | undefined> {
    if (record.hypervisor !== 'bhyve') return undefined;
    const spec = record.spec;
    const unit = Number(record.detail.console);
    if (!Number.isInteger(unit)) return undefined;
    assertVmName(spec.name);
    const start = await this.system.startTime(record.pid);
    if (!start || start !== record.pidStartTime || !(await this.system.vmExists(record.name))) return undefined;
    this.nextConsole = Math.max(this.nextConsole, unit + 1);
    const exited = new Promise<number>(() => undefined);
    return new BhyveVm(this, this.system, spec, { pid: record.pid, exited, stderr: () => '' }, unit, start);
  }

  async cleanup(record: VmRecord): Promise<void> {
    const start = await this.system.startTime(record.pid);
    // Only a process that still is the recorded one is killed (the pid may belong to someone else by now).
    if (start && start === record.pidStartTime) await this.system.signal(record.pid, 'SIGKILL');
    await this.destroyKernelVm(record.name);
    await this.system.remove(record.runDir);
  }

  /** bhyve processes still running whose run directory (one or two levels) below runRoot names them. */
  async listRunning(runRoot: string): Promise<RunningVm[]> {
    const root = runRoot.replace(/\/+$/, '');
    const dirs: string[] = [];
    for (const a of await this.system.listDir(root)) {
      dirs.push(`${root}/${a}`);
      for (const b of await this.system.listDir(`${root}/${a}`)) dirs.push(`${root}/${a}/${b}`);
    }
    const found: RunningVm[] = [];
    for (const dir of dirs) {
      const text = await this.system.readText(`${dir}/${MONITOR_FILE}`);
      if (!text) continue;
      try {
        const m = await parseReadBack(`${dir}/${MONITOR_FILE}`, text, monitorFileSchema);
        // Only a process that still is the one that wrote the file (pids are reused).
        if ((await this.system.startTime(m.pid)) === m.startTime) {
          found.push({ pid: m.pid, runDir: dir, pidStartTime: m.startTime, name: m.name });
        }
      } catch {
        /* a torn or foreign file: no VM of ours to find there */
      }
    }
    return found;
  }

  /** Kills a bhyve `listRunning` found (if its pid is still that process), destroys its kernel VM and run directory. */
  async stopRunning(vm: RunningVm): Promise<void> {
    const start = await this.system.startTime(vm.pid);
    if (start && start === vm.pidStartTime) await this.system.signal(vm.pid, 'SIGKILL');
    if (vm.name) {
      assertVmName(vm.name);
      await this.destroyKernelVm(vm.name);
    }
    await this.system.remove(vm.runDir);
  }

  destroyVm(name: string): Promise<void> {
    return this.destroyKernelVm(name);
  }

  get suspendTimeoutMs(): number {
    return this.options.suspendTimeoutMs ?? 60_000;
  }
}

function layoutKey(spec: VmSpec, unit: number): string[] {
  const layout = deviceLayout(spec, unit);
  // The console unit, tap and MAC differ from VM to VM; the device in each slot must not.
  return [...layout.slots.map((s) => s.split(',').slice(0, 2).join(',')), ...layout.lpc.map((l) => l.split(',')[0]!)];
}

export class BhyveVm implements Vm {
  private paused = false;
  private gone = false;
  /** Set on a restored VM: whether its guest memory maps the checkpoint or was copied (see restoreMemoryMode). */
  restoreMemory?: RestoreMemoryMode;

  constructor(
    private readonly hv: BhyveHypervisor,
    private readonly system: BhyveSystem,
    readonly spec: VmSpec,
    private readonly monitor: Monitor,
    readonly consoleUnit: number,
    private readonly startTime: string,
  ) {
    void monitor.exited.then(() => (this.gone = true));
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number {
    return this.monitor.pid;
  }

  async pause(): Promise<void> {
    if (!(await this.system.signal(this.pid, 'SIGSTOP')))
      throw new HypervisorError(`VM ${this.name}: bhyve (pid ${this.pid}) is gone`);
    this.paused = true;
  }

  async resume(): Promise<void> {
    if (!(await this.system.signal(this.pid, 'SIGCONT')))
      throw new HypervisorError(`VM ${this.name}: bhyve (pid ${this.pid}) is gone`);
    this.paused = false;
  }

  async probe(options: ProbeOptions = {}): Promise<number> {
    if ((options.via ?? 'serial') !== 'serial')
      throw new HypervisorError('the bhyve backend probes over the serial console');
    return this.system.probe(consoleDevices(this.consoleUnit).probe, options.timeoutMs ?? 30_000, options.signal);
  }

  async checkpoint(path: string): Promise<Checkpoint> {
    // bhyvectl asks the bhyve process over its checkpoint socket: a stopped process never answers.
    if (this.paused) throw new HypervisorError(`VM ${this.name} is paused: resume it before checkpointing`);
    await runChecked(this.system.runner, suspendArgv(this.name, path));
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), this.hv.suspendTimeoutMs).unref());
    if ((await Promise.race([this.monitor.exited, timeout])) === 'timeout') {
      throw new HypervisorError(`VM ${this.name}: bhyve did not exit after --suspend`);
    }
    await this.hv.writeSidecar(this, path);
    const files = [path, `${path}.kern`, `${path}.meta`, `${path}${SIDECAR}`];
    let bytes = 0;
    for (const f of files) {
      const size = await this.system.fileSize(f);
      if (size === undefined) throw new HypervisorError(`bhyvectl --suspend left no ${f}`);
      bytes += size;
    }
    await this.hv.checkpoints.makeDurable(files);
    return {
      hypervisor: 'bhyve',
      hypervisorVersion: await this.hv.version(),
      image: this.spec.image.name,
      memory: this.spec.memory,
      path,
      files,
      ...(this.spec.memory === 'template' ? { memoryFile: path } : {}),
      bytes,
      createdAt: new Date().toISOString(),
    };
  }

  async stats(): Promise<VmStats> {
    const alive = !this.gone && (await this.system.signal(this.pid, 0));
    if (!alive) return { pid: this.pid, rssBytes: 0, state: 'gone' };
    return { pid: this.pid, rssBytes: await this.system.rssBytes(this.pid), state: this.paused ? 'paused' : 'running' };
  }

  record(): VmRecord {
    return {
      hypervisor: 'bhyve',
      name: this.name,
      pid: this.pid,
      pidStartTime: this.startTime,
      runDir: this.spec.runDir,
      spec: this.spec,
      detail: { console: String(this.consoleUnit), ...(this.spec.network ? { tap: this.spec.network.tap } : {}) },
    };
  }

  /** Resolves once the process is gone (an adopted VM is not our child: no exit event), or after `timeoutMs`. */
  private async untilGone(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && (await this.system.startTime(this.pid)) === this.startTime) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Nothing to close: the console is opened per probe and bhyvectl runs per request. The VM keeps running. */
  disconnect(): void {}

  async destroy(): Promise<void> {
    if (!this.gone && (await this.system.signal(this.pid, 'SIGKILL'))) {
      await Promise.race([this.monitor.exited, this.untilGone(5000)]);
    }
    await this.hv.destroyVm(this.name);
    await this.system.remove(this.spec.runDir);
  }
}
