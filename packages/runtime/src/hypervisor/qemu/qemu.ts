import { link, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runChecked, type CommandRunner } from '../../host/command-runner.ts';
import {
  assertVmName,
  type GuestImage,
  assertVmNetwork,
  HypervisorError,
  type Checkpoint,
  type Hypervisor,
  type ProbeOptions,
  type RunningVm,
  type Vm,
  type VmRecord,
  type VmSpec,
  type VmStats,
} from '../hypervisor.ts';
import { copyDurably, copyUnsynced, syncDir } from '../../host/durable-files.ts';
import { isInside } from '../../host/paths.ts';
import { chooseAccelerator, hostTscKhz } from './accel.ts';
import { QemuCheckpointStore } from './checkpoints.ts';
import { qemuArgv, type Accelerator } from './argv.ts';
import { DEFAULT_QEMU_TUNING, qemuProcessEnv, type QemuTuning } from './tuning.ts';
import { awaitMigration, setCapabilities } from './migration.ts';
import { listenForMigration } from './migration-sink.ts';
import { QmpClient } from './qmp.ts';
import { SerialConsole } from './serial-console.ts';
import { isSameProcess } from './process.ts';
import { LinuxQemuSystem, type QemuSystem } from './system.ts';

export interface QemuOptions {
  runner: CommandRunner;
  binary?: string;
  /** TCG translation cache per VM (MiB): a large part of a clone's memory cost. */
  tbSizeMiB?: number;
  /**
   * TCG translation cache of a VM that boots (MiB; default DEFAULT_BOOT_TB_SIZE_MIB, never less than tbSizeMiB). A
   * boot runs the guest's whole start-up once: with the clones' small cache, Node's and Python's start-up retranslate
   * the same code for minutes (a code-interpreter template: over 6 min at 4 MiB, about 1 min at 64). The cache is not
   * guest state, so a checkpoint of a VM booted with a large one restores into a small one.
   */
  bootTbSizeMiB?: number;
  /** Where template memory files live (tmpfs). */
  shmDir?: string;
  /** Fixed accelerator (skips detection), e.g. in tests. */
  accel?: Accelerator;
  /** Memory levers of each QEMU process (environment, TCG threads); DEFAULT_QEMU_TUNING when unset. */
  tuning?: QemuTuning;
  /** Guest booted under KVM to prove KVM works (when /dev/kvm exists); without it KVM is never chosen. */
  kvmProbeImage?: GuestImage;
  /** Process and run-directory effects (default: the real Linux ones); tests pass a fake. */
  system?: QemuSystem;
}

const MONITOR_TIMEOUT_MS = 15_000;
export const DEFAULT_BOOT_TB_SIZE_MIB = 64;

/** QEMU `-M microvm` backend of the hypervisor interface (Linux). */
export class QemuHypervisor implements Hypervisor {
  readonly kind = 'qemu' as const;
  readonly restoreNeedsSameDevices = false;
  readonly checkpoints: QemuCheckpointStore;
  /** @internal */ readonly system: QemuSystem;
  private readonly binary: string;
  private readonly shmDir: string;
  private accelPromise: Promise<{ accel: Accelerator; reason: string }> | undefined;
  private versionPromise: Promise<string> | undefined;
  private tscPromise: Promise<number> | undefined;

  constructor(private readonly options: QemuOptions) {
    this.binary = options.binary ?? 'qemu-system-x86_64';
    this.shmDir = options.shmDir ?? '/dev/shm';
    this.checkpoints = new QemuCheckpointStore(this.shmDir, () => this.checkpointFormat());
    this.system = options.system ?? new LinuxQemuSystem();
  }

  /** @internal A VM's own file (its memory file): removed only from the tmpfs folder (records are read back). */
  async removeOwnedFile(path: string): Promise<void> {
    if (!(await isInside(this.shmDir, path)))
      throw new HypervisorError(`refusing to remove ${path}: it is not inside ${this.shmDir}`);
    await this.system.remove(path);
  }

  version(): Promise<string> {
    this.versionPromise ??= runChecked(this.options.runner, [this.binary, '--version']).then(
      (r) => /version (\S+)/.exec(r.stdout)?.[1] ?? r.stdout.trim().split('\n')[0] ?? 'unknown',
    );
    return this.versionPromise;
  }

  /**
   * What a checkpoint records as its writer and a restore requires: the QEMU version, the accelerator and the CPU
   * model (a guest checkpointed on one CPU model may use instructions another does not have).
   */
  async checkpointFormat(): Promise<string> {
    const [version, { accel }] = await Promise.all([this.version(), this.accelerator()]);
    return `${version} ${accel.kind === 'kvm' ? 'kvm cpu=host' : 'tcg cpu=max'}`;
  }

  /** The accelerator in use and why it was chosen. */
  accelerator(): Promise<{ accel: Accelerator; reason: string }> {
    const tb = this.options.tbSizeMiB ?? 16;
    if (this.options.accel) return Promise.resolve({ accel: this.options.accel, reason: 'configured' });
    this.accelPromise ??= chooseAccelerator(() => this.kvmWorks(), tb);
    return this.accelPromise;
  }

  /** Boots the probe image under KVM and waits for its answer: /dev/kvm opening is not proof (nested hosts hang). */
  private async kvmWorks(): Promise<boolean> {
    const image = this.options.kvmProbeImage;
    if (!image) return false;
    const probe = new QemuHypervisor({ ...this.options, accel: { kind: 'kvm' }, kvmProbeImage: undefined });
    const runDir = join('/run', `coppice-kvm-probe-${process.pid}`);
    let vm: Vm | undefined;
    try {
      vm = await probe.boot({
        name: 'coppice-kvm-probe',
        image: { ...image, memoryMiB: 128 },
        memory: 'private',
        runDir,
      });
      await vm.probe({ timeoutMs: 20_000 });
      return true;
    } catch {
      return false;
    } finally {
      await vm?.destroy();
      await this.system.remove(runDir);
    }
  }

  async preflight(): Promise<string[]> {
    const reasons: string[] = [];
    try {
      await this.version();
    } catch (e) {
      reasons.push(`${this.binary} is not runnable: ${(e as Error).message}`);
    }
    try {
      await stat(this.shmDir);
    } catch {
      reasons.push(`${this.shmDir} (tmpfs for template memory) is missing`);
    }
    return reasons;
  }

  private tscKhz(): Promise<number> {
    this.tscPromise ??= hostTscKhz();
    return this.tscPromise;
  }

  async boot(spec: VmSpec): Promise<Vm> {
    validateSpec(spec);
    const memFile = spec.memory === 'template' ? this.checkpoints.vmMemoryPath(spec.name, spec.runDir) : undefined;
    return this.start(spec, {
      memory: memFile ? { kind: 'file', path: memFile, share: true } : { kind: 'ram' },
      ownedFiles: memFile ? [memFile] : [],
      sharedRam: Boolean(memFile),
      ...(spec.image.rootDisk ? { disk: { overlayOver: spec.image.rootDisk } } : {}),
    });
  }

  async restore(spec: VmSpec, checkpoint: Checkpoint): Promise<Vm> {
    validateSpec(spec);
    await this.validateCheckpoint(spec, checkpoint);
    if (Boolean(spec.image.rootDisk) !== Boolean(checkpoint.disk)) {
      throw new HypervisorError(
        `checkpoint ${checkpoint.path} ${checkpoint.disk ? 'has' : 'lacks'} a disk layer, image "${spec.image.name}" ${spec.image.rootDisk ? 'has' : 'has no'} root disk`,
      );
    }
    const fd = await open(checkpoint.path, 'r');
    let vm: QemuVm | undefined;
    try {
      vm = await this.start(spec, {
        memory: checkpoint.memoryFile ? { kind: 'file', path: checkpoint.memoryFile, share: false } : { kind: 'ram' },
        ownedFiles: [],
        sharedRam: false,
        incomingFd: fd.fd,
        ...(checkpoint.disk ? { disk: { copyOf: checkpoint.disk } } : {}),
      });
      await vm.incoming(checkpoint);
      return vm;
    } catch (e) {
      // QEMU says why on stderr ("load of migration failed: ..."); the QMP error alone is often a closed socket.
      const log = await readFile(join(spec.runDir, 'qemu.log'), 'utf8').catch(() => '');
      const reason = log.trim().split('\n').filter(Boolean).slice(-2).join(' | ') || (e as Error).message;
      await vm?.destroy();
      await this.system.remove(spec.runDir);
      throw new HypervisorError(`restore of checkpoint ${checkpoint.path} failed: ${reason}`);
    } finally {
      await fd.close();
    }
  }

  private async validateCheckpoint(spec: VmSpec, cp: Checkpoint): Promise<void> {
    if (cp.hypervisor !== 'qemu')
      throw new HypervisorError(`checkpoint ${cp.path} was written by ${cp.hypervisor}, not qemu`);
    const version = await this.checkpointFormat();
    if (cp.hypervisorVersion !== version) {
      throw new HypervisorError(
        `checkpoint ${cp.path} was written by QEMU ${cp.hypervisorVersion}, this is ${version}`,
      );
    }
    if (cp.image !== spec.image.name) {
      throw new HypervisorError(`checkpoint ${cp.path} is of image "${cp.image}", not "${spec.image.name}"`);
    }
    for (const f of [...cp.files, ...(cp.memoryFile ? [cp.memoryFile] : [])]) {
      try {
        await stat(f);
      } catch {
        throw new HypervisorError(`checkpoint file ${f} is missing`);
      }
    }
    if (cp.memoryFile) {
      const st = await stat(cp.memoryFile);
      if (st.size !== spec.image.memoryMiB * 1024 * 1024) {
        throw new HypervisorError(
          `checkpoint memory file ${cp.memoryFile} has ${st.size} bytes, expected ${spec.image.memoryMiB} MiB`,
        );
      }
    }
  }

  private async start(
    spec: VmSpec,
    how: {
      memory: { kind: 'file'; path: string; share: boolean } | { kind: 'ram' };
      ownedFiles: string[];
      sharedRam: boolean;
      incomingFd?: number;
      /**
       * The VM's own disk layer (runDir/disk.qcow2): a boot's is a new layer over the image's root disk; a restore's
       * a copy of the checkpoint's layer, not a layer over it, so every layer is backed by the read-only root disk
       * alone. A layer over a checkpoint's layer would break once that checkpoint is removed (a resumed or checked-out
       * entry's is), and a pause writing its checkpoint under the same name would make the chain its own backing.
       */
      disk?: { overlayOver: string } | { copyOf: string };
    },
  ): Promise<QemuVm> {
    const disk = how.disk ? join(spec.runDir, 'disk.qcow2') : undefined;
    const qmpSocket = join(spec.runDir, 'qmp.sock');
    const serialSocket = join(spec.runDir, 'serial.sock');
    const logPath = join(spec.runDir, 'qemu.log');
    const { accel: chosen } = await this.accelerator();
    const accel =
      chosen.kind === 'tcg' && how.incomingFd === undefined
        ? { ...chosen, tbSizeMiB: Math.max(chosen.tbSizeMiB, this.options.bootTbSizeMiB ?? DEFAULT_BOOT_TB_SIZE_MIB) }
        : chosen;
    const tuning = this.options.tuning ?? DEFAULT_QEMU_TUNING;
    const env = qemuProcessEnv(tuning, process.env);
    const argv = qemuArgv({
      binary: this.binary,
      image: spec.image,
      accel,
      memory: how.memory,
      qmpSocket,
      serialSocket,
      network: spec.network,
      disk,
      incoming: how.incomingFd !== undefined,
      tscKhz: await this.tscKhz(),
      tcgSingleThread: tuning.tcgSingleThread,
    });
    // After the argv: a path QEMU cannot take is refused before anything is made.
    await this.system.makeRunDir(spec.runDir);
    if (how.disk && disk) {
      const d = how.disk;
      try {
        if ('copyOf' in d) await copyUnsynced(d.copyOf, disk);
        else
          await runChecked(this.options.runner, [
            'qemu-img',
            'create',
            '-q',
            '-f',
            'qcow2',
            '-F',
            'raw',
            '-b',
            d.overlayOver,
            disk,
          ]);
      } catch (e) {
        await this.system.remove(spec.runDir);
        throw new HypervisorError(
          `cannot create the disk layer of VM ${spec.name} from ${'copyOf' in d ? d.copyOf : d.overlayOver}: ${(e as Error).message}`,
        );
      }
    }
    // Detached (own process group): the VM outlives a crashed controller, which adopts it on restart.
    const { pid, exited } = await this.system
      .spawn(argv, { logPath, env, ...(how.incomingFd !== undefined ? { incomingFd: how.incomingFd } : {}) })
      .catch((e: Error) => {
        throw new HypervisorError(`cannot start ${this.binary}: ${e.message}`);
      });
    const startTime = (await this.system.startTime(pid)) ?? '';
    const vm = new QemuVm(this, spec, {
      pid,
      pidStartTime: startTime,
      qmpSocket,
      serialSocket,
      logPath,
      memFile: how.memory.kind === 'file' ? how.memory.path : undefined,
      ownedFiles: how.ownedFiles,
      sharedRam: how.sharedRam,
      disk,
    });
    try {
      vm.qmp = await connectWhenUp(qmpSocket, exited, logPath);
    } catch (e) {
      await vm.destroy();
      throw e;
    }
    return vm;
  }

  async adopt(record: VmRecord): Promise<Vm | undefined> {
    if (record.hypervisor !== 'qemu') return undefined;
    if (!(await isSameProcess(record.pid, record.pidStartTime, this.system))) return undefined;
    const d = record.detail;
    const vm = new QemuVm(this, record.spec, {
      pid: record.pid,
      pidStartTime: record.pidStartTime,
      qmpSocket: d.qmpSocket ?? join(record.runDir, 'qmp.sock'),
      serialSocket: d.serialSocket ?? join(record.runDir, 'serial.sock'),
      logPath: join(record.runDir, 'qemu.log'),
      memFile: d.memFile || undefined,
      ownedFiles: d.ownedFiles ? d.ownedFiles.split('\n').filter(Boolean) : [],
      sharedRam: d.sharedRam === 'true',
      disk: record.spec.image.rootDisk ? join(record.runDir, 'disk.qcow2') : undefined,
    });
    vm.qmp = undefined;
    return vm;
  }

  async cleanup(record: VmRecord): Promise<void> {
    await this.system.killAndWait(record.pid, record.pidStartTime);
    const owned = record.detail.ownedFiles ? record.detail.ownedFiles.split('\n').filter(Boolean) : [];
    for (const f of owned) await this.removeOwnedFile(f);
    await this.system.remove(record.runDir);
  }

  async listRunning(runRoot: string): Promise<RunningVm[]> {
    const found: RunningVm[] = [];
    const root = runRoot.endsWith('/') ? runRoot : `${runRoot}/`;
    for (const { pid, argv } of await this.system.processes()) {
      if (!argv.some((a) => a.includes('qemu-system'))) continue;
      const m = argv.map((a) => /path=([^,]+)\/serial\.sock/.exec(a)?.[1]).find(Boolean);
      const pidStartTime = await this.system.startTime(pid);
      if (m && m.startsWith(root) && pidStartTime !== undefined) found.push({ pid, runDir: m, pidStartTime });
    }
    return found;
  }

  async stopRunning(vm: RunningVm): Promise<void> {
    await this.system.killAndWait(vm.pid, vm.pidStartTime);
    await this.system.remove(vm.runDir);
  }

  /** @internal The tmpfs name of a checkpoint's guest RAM: named after the checkpoint file, unique per call. */
  checkpointMemoryPath(checkpointPath: string): string {
    return this.checkpoints.checkpointMemoryPath(checkpointPath);
  }
}

function validateSpec(spec: VmSpec): void {
  assertVmName(spec.name);
  if (spec.network) assertVmNetwork(spec.network);
  if (!spec.image.kernel || !spec.image.initrd)
    throw new HypervisorError(`image "${spec.image.name}" needs kernel and initrd for QEMU`);
  if (!Number.isInteger(spec.image.memoryMiB) || spec.image.memoryMiB < 64 || spec.image.memoryMiB > 16384) {
    throw new HypervisorError(`image "${spec.image.name}": memory ${spec.image.memoryMiB} MiB out of range 64-16384`);
  }
  if (!Number.isInteger(spec.image.vcpus) || spec.image.vcpus < 1 || spec.image.vcpus > 8) {
    throw new HypervisorError(`image "${spec.image.name}": vcpus ${spec.image.vcpus} out of range 1-8`);
  }
}

/** Connects to the QMP socket as soon as QEMU has created it; fails early if QEMU exits first. */
async function connectWhenUp(path: string, exited: Promise<number>, logPath: string): Promise<QmpClient> {
  let exitCode: number | undefined;
  void exited.then((c) => (exitCode = c));
  const deadline = Date.now() + MONITOR_TIMEOUT_MS;
  let delay = 2;
  for (;;) {
    if (exitCode !== undefined) {
      const { readFile } = await import('node:fs/promises');
      const log = (await readFile(logPath, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
      throw new HypervisorError(`qemu exited (status ${exitCode}) before its monitor came up${log ? `: ${log}` : ''}`);
    }
    try {
      await stat(path);
      return await QmpClient.connect(path, 2000);
    } catch (e) {
      if (Date.now() > deadline)
        throw new HypervisorError(
          `QEMU monitor ${path} not up after ${MONITOR_TIMEOUT_MS} ms: ${(e as Error).message}`,
        );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 25);
  }
}

interface QemuVmState {
  pid: number;
  pidStartTime: string;
  qmpSocket: string;
  serialSocket: string;
  logPath: string;
  memFile: string | undefined;
  /** Files removed on destroy (the template memory file of a booted template VM). */
  ownedFiles: string[];
  sharedRam: boolean;
  /** The VM's own disk layer (in its runDir, so removed with it), when the image has a root disk. */
  disk: string | undefined;
}

export class QemuVm implements Vm {
  /** @internal */ qmp: QmpClient | undefined;
  private readonly console: SerialConsole;
  private destroyed = false;

  constructor(
    private readonly hv: QemuHypervisor,
    readonly spec: VmSpec,
    private readonly s: QemuVmState,
  ) {
    this.console = new SerialConsole(s.serialSocket);
  }

  get name(): string {
    return this.spec.name;
  }
  get pid(): number {
    return this.s.pid;
  }

  private async monitor(): Promise<QmpClient> {
    this.qmp ??= await QmpClient.connect(this.s.qmpSocket);
    return this.qmp;
  }

  /**
   * Parks the VM: its vCPUs stop first (QMP `stop`), so the guest's clock stops with them, then the whole process
   * (SIGSTOP), so a parked VM costs no host CPU. A guest frozen by SIGSTOP alone wakes to its clock jumped by the
   * whole parked time and catches up on the critical path: under TCG its agent's first answer after a park took
   * 300-540 ms, against 50-120 ms with the clock stopped. Returns once the kernel shows the process stopped: SIGSTOP
   * reaches a multi-threaded process asynchronously, and on a loaded host /proc showed QEMU still running just after
   * kill() returned.
   */
  async pause(): Promise<void> {
    // An adopted VM may be parked already; a stopped process would never answer QMP.
    if ((await this.hv.system.state(this.s.pid)) !== 'T') await (await this.monitor()).execute('stop');
    this.hv.system.signal(this.s.pid, 'SIGSTOP');
    const deadline = performance.now() + 2000;
    for (;;) {
      const state = await this.hv.system.state(this.s.pid);
      if (state === 'T' || state === undefined || state === 'Z') return;
      if (performance.now() > deadline)
        throw new Error(`QEMU (pid ${this.s.pid}) did not stop within 2 s of SIGSTOP (state ${state})`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Continues the process, then its vCPUs (the guest's clock runs on from where pause() stopped it). */
  async resume(): Promise<void> {
    this.hv.system.signal(this.s.pid, 'SIGCONT');
    await (await this.monitor()).execute('cont');
  }

  async probe(options: ProbeOptions = {}): Promise<number> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const via = options.via ?? 'serial';
    if (via === 'tcp') return this.probeHttp(timeoutMs, 8080, '/ready', (answer) => /ready/.test(answer));
    if (via === 'http') {
      if (!options.http) throw new HypervisorError('an http probe needs a port and a path');
      return this.probeHttp(timeoutMs, options.http.port, options.http.path, (answer) =>
        /^HTTP\/1\.[01] 2\d\d /.test(answer),
      );
    }
    const t0 = performance.now();
    await this.console.request(
      (token) => `ping ${token}`,
      (line, tokens) => line.startsWith('ready ') && tokens.has(line.slice(6)),
      { timeoutMs, resendMs: 250, signal: options.signal },
    );
    return performance.now() - t0;
  }

  private async probeHttp(
    timeoutMs: number,
    port: number,
    path: string,
    answered: (text: string) => boolean,
  ): Promise<number> {
    if (!this.spec.network) throw new HypervisorError(`VM ${this.name} has no network: use the serial probe`);
    const host = this.spec.network.address.split('/')[0]!;
    const { connect } = await import('node:net');
    const t0 = performance.now();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect({ host, port });
        let data = '';
        const timer = setTimeout(() => {
          s.destroy();
          resolve(false);
        }, 1000);
        s.on('connect', () => s.write(`GET ${path} HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
        s.setEncoding('utf8');
        s.on('data', (d: string) => (data += d));
        s.on('close', () => {
          clearTimeout(timer);
          resolve(answered(data));
        });
        s.on('error', () => undefined);
      });
      if (ok) return performance.now() - t0;
      if (Date.now() > deadline)
        throw new HypervisorError(
          `guest ${this.name} did not answer GET ${path} on ${host}:${port} within ${timeoutMs} ms`,
        );
      await sleep(50);
    }
  }

  /** Assigns the guest's address after a restore (clones wake up with the template's). */
  async configureNetwork(timeoutMs = 5000): Promise<void> {
    const net = this.spec.network;
    if (!net) return;
    await this.console.request(
      () => `net ${net.address} ${net.gateway ?? '-'} ${net.mac}`,
      (line) => line === `net-ok ${net.address}`,
      { timeoutMs, resendMs: 1000 },
    );
  }

  /** @internal Completes a restore: migrate-incoming from the inherited fd 3, then cont. */
  async incoming(cp: Checkpoint): Promise<void> {
    const qmp = await this.monitor();
    await setCapabilities(qmp, { events: true, 'x-ignore-shared': cp.memory === 'template' });
    await qmp.execute('migrate-incoming', { uri: 'fd:3' });
    await awaitMigration(qmp, 60_000);
    await qmp.execute('cont');
  }

  async checkpoint(path: string): Promise<Checkpoint> {
    const qmp = await this.monitor();
    const template = this.s.sharedRam;
    await qmp.execute('stop');
    await setCapabilities(qmp, { events: true, 'x-ignore-shared': template });
    const sock = join(this.spec.runDir, 'migrate.sock');
    await rm(sock, { force: true });
    const sink = await listenForMigration(sock, path);
    let bytes: number;
    try {
      await qmp.execute('migrate', { uri: `unix:${sock}` });
      await awaitMigration(qmp, 120_000);
      bytes = await sink.done;
    } catch (e) {
      sink.close();
      throw e;
    } finally {
      await rm(sock, { force: true });
    }
    await syncDir(dirname(path));
    let memoryFile: string | undefined;
    let memoryImage: string | undefined;
    if (template && this.s.memFile) {
      // The checkpoint keeps guest RAM under its own name; the VM's name is removed when it is destroyed. Restores
      // map the tmpfs file; a copy on disk next to the device state lets the checkpoint outlive a reboot (tmpfs does
      // not): reviveCheckpoints() copies it back. The VM is stopped, so the RAM file no longer changes.
      memoryFile = this.hv.checkpointMemoryPath(path);
      await link(this.s.memFile, memoryFile);
      memoryImage = `${path}.mem`;
      try {
        await copyDurably(this.s.memFile, memoryImage);
      } catch (e) {
        await rm(memoryFile, { force: true });
        throw new HypervisorError(`cannot write the memory image ${memoryImage}: ${(e as Error).message}`);
      }
    }
    let disk: string | undefined;
    if (this.s.disk) {
      // The VM is stopped and migration flushed its disk: this copy is the layer every restore starts from.
      disk = `${path}.disk.qcow2`;
      try {
        await copyDurably(this.s.disk, disk);
      } catch (e) {
        if (memoryFile) await rm(memoryFile, { force: true });
        if (memoryImage) await rm(memoryImage, { force: true });
        throw new HypervisorError(`cannot write the disk layer ${disk}: ${(e as Error).message}`);
      }
    }
    return {
      hypervisor: 'qemu',
      hypervisorVersion: await this.hv.checkpointFormat(),
      image: this.spec.image.name,
      memory: template ? 'template' : 'private',
      path,
      files: [path, ...(memoryImage ? [memoryImage] : []), ...(disk ? [disk] : [])],
      ...(disk ? { disk } : {}),
      ...(memoryFile ? { memoryFile } : {}),
      ...(memoryImage ? { memoryImage } : {}),
      bytes,
      createdAt: new Date().toISOString(),
    };
  }

  async stats(): Promise<VmStats> {
    const state = await this.hv.system.state(this.s.pid);
    if (
      state === undefined ||
      state === 'Z' ||
      !(await isSameProcess(this.s.pid, this.s.pidStartTime, this.hv.system))
    ) {
      return { pid: this.s.pid, rssBytes: 0, state: 'gone' };
    }
    const mem = await this.hv.system.memoryOf(this.s.pid);
    return { pid: this.s.pid, ...mem, state: state === 'T' ? 'paused' : 'running' };
  }

  record(): VmRecord {
    return {
      hypervisor: 'qemu',
      name: this.name,
      pid: this.s.pid,
      pidStartTime: this.s.pidStartTime,
      runDir: this.spec.runDir,
      detail: {
        qmpSocket: this.s.qmpSocket,
        serialSocket: this.s.serialSocket,
        memFile: this.s.memFile ?? '',
        ownedFiles: this.s.ownedFiles.join('\n'),
        sharedRam: String(this.s.sharedRam),
      },
      spec: this.spec,
    };
  }

  disconnect(): void {
    this.console.close();
    this.qmp?.close();
    this.qmp = undefined;
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.console.close();
    this.qmp?.close();
    await this.hv.system.killAndWait(this.s.pid, this.s.pidStartTime);
    for (const f of this.s.ownedFiles) await this.hv.removeOwnedFile(f);
    await this.hv.system.remove(this.spec.runDir);
  }
}
