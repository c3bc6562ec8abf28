/**
 * The hypervisor seam: everything a pool needs from a microVM monitor, implemented by QEMU (Linux, `qemu/`) and
 * bhyve (FreeBSD, `bhyve/`). A pool never builds a command line itself; it asks a Hypervisor for VMs and keeps
 * their serialisable records on disk so a restarted controller can adopt or clean them. The checkpoint files VMs
 * write are managed through the backend's CheckpointStore (`hypervisor.checkpoints`).
 *
 * Lifecycle of one VM:
 *   boot(spec) or restore(spec, checkpoint)  → running, readiness probe answers
 *   pause()/resume()                          → SIGSTOP/SIGCONT of the monitor process (bhyve needs -H -A -P)
 *   checkpoint(path)                          → guest state written to files; the VM is left NOT runnable
 *                                               (QEMU: stopped after migrate; bhyve: exits after --suspend);
 *                                               the caller destroys it
 *   destroy()                                 → every process killed by pid, every file of the VM removed
 *                                               (checkpoints are NOT the VM's files: they belong to the caller)
 */

export type HypervisorKind = 'qemu' | 'bhyve';

/** The guest a VM boots: kernel, initramfs/disk and sizes. Identical for every VM of one pool template. */
export interface GuestImage {
  /** Template name (slug), e.g. "debian-256". */
  name: string;
  /** Linux: kernel image (vmlinuz). bhyve: unused when `bootrom` is set. */
  kernel?: string;
  /** Linux: initramfs. */
  initrd?: string;
  /** bhyve: disk image attached with virtio-blk. */
  disk?: string;
  /**
   * Linux: read-only root file system image (raw ext4) shared by every VM of the image. Each VM writes to its own
   * qcow2 layer over it, in its runDir, removed with the VM.
   */
  rootDisk?: string;
  /** bhyve: UEFI firmware (`-l bootrom,FILE`). */
  bootrom?: string;
  memoryMiB: number;
  vcpus: number;
  /** Extra kernel command line (Linux direct boot); the backend adds console and network parameters. */
  cmdline?: string;
}

/** The network a VM attaches to: a tap (Linux/FreeBSD) created by cubenet before the VM starts. */
export interface VmNetwork {
  /** Host interface the guest NIC is backed by (e.g. "cbtap3a9f…", "tap7"). */
  tap: string;
  /** Guest MAC, "52:54:00:xx:xx:xx". */
  mac: string;
  /** Guest address with prefix, e.g. "10.77.0.5/24". */
  address: string;
  /** Default gateway inside the guest, optional. */
  gateway?: string;
}

/**
 * How guest memory is backed.
 * - "template": guest RAM lives in a named file the checkpoint refers to instead of copying (QEMU: shm file
 *   share=on for the template, share=off copy-on-write for clones; bhyve: vnode restore with the patches).
 *   N restores of one checkpoint share its pages.
 * - "private": anonymous memory; a checkpoint copies all of RAM, each restore has its own copy (naive baseline).
 */
export type MemoryMode = 'template' | 'private';

export interface VmSpec {
  /** Unique VM name (slug, ≤ 40 chars): also the prefix of its files and, for bhyve, the kernel VM name. */
  name: string;
  image: GuestImage;
  network?: VmNetwork;
  memory: MemoryMode;
  /** Directory for the VM's own files (sockets, logs). Created by the backend, removed on destroy. */
  runDir: string;
}

/** A checkpoint on disk: everything `restore` needs. Owned by whoever asked for it (a pool), not by the VM. */
export interface Checkpoint {
  hypervisor: HypervisorKind;
  /** Monitor version that wrote it (restores refuse a mismatch: the formats are not stable across versions). */
  hypervisorVersion: string;
  /** Image name the guest was booted from. */
  image: string;
  memory: MemoryMode;
  /** The main state file (QEMU: migration stream; bhyve: FILE given to --suspend). */
  path: string;
  /** Every file that makes up the checkpoint, `path` included (bhyve: FILE, FILE.kern, FILE.meta). */
  files: string[];
  /** With memory "template": the file holding guest RAM, shared read-only/copy-on-write by restores. */
  memoryFile?: string;
  /**
   * When `memoryFile` lives on a file system that does not survive a reboot (QEMU: tmpfs), its copy on disk (fsync'd,
   * also listed in `files`), from which `reviveCheckpoints` makes `memoryFile` again. Absent when `memoryFile` is
   * itself on disk (bhyve) or for checkpoints older than this field.
   */
  memoryImage?: string;
  /**
   * With an image that has a `rootDisk`: the VM's writable layer as it was at the checkpoint (QEMU: a qcow2 over the
   * root image, also listed in `files`). Each restore writes to its own new layer over this one.
   */
  disk?: string;
  /** Size in bytes of the checkpoint's own files, for accounting (a memory image shared by hard links not counted). */
  bytes: number;
  createdAt: string;
}

export interface VmStats {
  pid: number;
  /** Resident set of the monitor process, bytes (Linux: VmRSS). */
  rssBytes: number;
  /** Proportional set size, bytes (Linux: /proc/PID/smaps_rollup), when the OS reports it. */
  pssBytes?: number;
  state: 'running' | 'paused' | 'stopped' | 'gone';
}

export interface ProbeOptions {
  /** Give up after this long (ms). */
  timeoutMs?: number;
  /**
   * "serial" (console line), "tcp" (the busybox guest's GET /ready on port 8080 over its network) or "http" (GET
   * `http.path` on `http.port` over the guest's network, answered by any 2xx: e.g. a guest agent's /health).
   * Default: serial.
   */
  via?: 'serial' | 'tcp' | 'http';
  http?: { port: number; path: string };
  signal?: AbortSignal;
}

/**
 * What a pool stores about a VM so that a restarted controller can find it again: enough to check that the pid
 * still is this VM (pid reuse) and to reconnect to its control and console channels.
 */
export interface VmRecord {
  hypervisor: HypervisorKind;
  name: string;
  pid: number;
  /** Process start time as the OS reports it (Linux: field 22 of /proc/PID/stat), guards against pid reuse. */
  pidStartTime: string;
  runDir: string;
  /** The spec the VM was started with (plain data), so an adopted VM is whole again. */
  spec: VmSpec;
  /** Backend-specific details (socket paths, memory file, tap...). */
  detail: Record<string, string>;
}

export interface Vm {
  readonly name: string;
  readonly pid: number;
  readonly spec: VmSpec;
  /**
   * Parks the VM: every vCPU and the monitor process stop (SIGSTOP), so a paused VM costs no CPU; QEMU also stops
   * the guest's clock first, so the guest does not wake to a jump.
   */
  pause(): Promise<void>;
  /** Undoes pause(). Does not wait for the guest: call probe(). */
  resume(): Promise<void>;
  /**
   * Asks the guest to answer and resolves with the round trip in ms once it has. Waits (event-driven, never a busy
   * loop) until the guest answers or the timeout passes.
   */
  probe(options?: ProbeOptions): Promise<number>;
  /** Writes the guest's state to `path` (plus sibling files) and leaves the VM not runnable. */
  checkpoint(path: string): Promise<Checkpoint>;
  stats(): Promise<VmStats>;
  record(): VmRecord;
  /** Closes the controller's connections to the VM (monitor, console) and leaves the VM running: controller exit. */
  disconnect?(): void;
  /** Kills every process of the VM by pid and removes every file it created. Idempotent. */
  destroy(): Promise<void>;
}

export interface Hypervisor {
  readonly kind: HypervisorKind;
  /**
   * A checkpoint restores only into a VM with the same devices, NIC included (bhyve(8) -r). Without it (QEMU here:
   * the NIC exists with or without a network) a checkpoint taken without a network restores with one.
   */
  readonly restoreNeedsSameDevices: boolean;
  /** Version string of the monitor (recorded in checkpoints). */
  version(): Promise<string>;
  /** What this host lacks to run VMs (empty when ready): missing binaries, acceleration, kernel options. */
  preflight(): Promise<string[]>;
  /** Boots a fresh VM from its image. Resolves once the monitor is up (not once the guest is ready: probe()). */
  boot(spec: VmSpec): Promise<Vm>;
  /**
   * Starts a VM from a checkpoint and resumes it. Rejects (and leaves nothing behind) on a checkpoint that does not
   * exist, is corrupt, or was written by another hypervisor/version/memory mode.
   */
  restore(spec: VmSpec, checkpoint: Checkpoint): Promise<Vm>;
  /** Reattaches to a VM from its record; undefined when that VM is gone (or the pid is now another process). */
  adopt(record: VmRecord): Promise<Vm | undefined>;
  /** Kills and cleans what a record describes when it cannot be adopted (orphans after a crash). */
  cleanup(record: VmRecord): Promise<void>;
  /**
   * Monitor processes whose run directory lies under `runRoot` (found from the OS, not from any state file), so a
   * restarted controller can kill VMs it started but never recorded. Optional (with `stopRunning`): a backend
   * without it relies on records.
   */
  listRunning?(runRoot: string): Promise<RunningVm[]>;
  /** Kills a VM `listRunning` found (only if its pid still is that process) and removes its run directory. */
  stopRunning?(vm: RunningVm): Promise<void>;
  /** The checkpoint files this backend writes: clone, remove, list and revive them. */
  readonly checkpoints: CheckpointStore;
}

/**
 * Managing checkpoint files once a VM wrote them (running VMs is the Hypervisor's job): a pool clones the template's
 * checkpoint for its durable entries, checks and revives recorded ones after a crash or reboot, and removes those
 * nothing references. Each backend implements it for the files it writes.
 */
export interface CheckpointStore {
  readonly kind: HypervisorKind;
  /** Removes a checkpoint's files (not a shared memory file still used by other checkpoints: caller decides). */
  removeCheckpoint(checkpoint: Checkpoint): Promise<void>;
  /**
   * A checkpoint of its own at `path`, made from `base` (a pool entry's durable checkpoint from the template's):
   * device state copied and fsync'd, guest memory hard-linked so that every restore of every clone shares its
   * pages. Rejects and leaves nothing behind on failure. Optional: without it a backend serves no durable tier.
   */
  cloneCheckpoint?(base: Checkpoint, path: string): Promise<Checkpoint>;
  /** Whether every file a restore of this checkpoint needs is there. */
  checkpointIntact(checkpoint: Checkpoint): Promise<boolean>;
  /**
   * Makes the memory files of checkpoints whose `memoryFile` is gone (tmpfs emptied by a reboot) again from their
   * `memoryImage`, one file per image shared by hard links as before. Resolves with the files made. Optional: only
   * a backend that keeps checkpoint memory on tmpfs needs it.
   */
  reviveCheckpoints?(checkpoints: Checkpoint[]): Promise<string[]>;
  /**
   * Removes the files of a pool's checkpoints that nothing references: every file in `scope.checkpointDir` not in
   * `referenced`, and the backend's own side files (QEMU: tmpfs memory images) of checkpoints and VMs the scope
   * says are the pool's. Resolves with the files removed.
   */
  removeOrphanFiles(scope: OrphanScope, referenced: ReadonlySet<string>): Promise<string[]>;
}

/** A VM found running by `listRunning`: enough to kill it safely (pid reuse) and clean its files. */
export interface RunningVm {
  pid: number;
  runDir: string;
  /** Process start time when the backend knows it (a pid whose start time differs is someone else's now). */
  pidStartTime?: string;
  /** Kernel VM name (bhyve), when the backend knows it. */
  name?: string;
}

export interface OrphanScope {
  /** The pool's own checkpoint directory: everything in it belongs to the pool. */
  checkpointDir: string;
  /** The pool's run folder (`<runRoot>/<template>`, the parent of its VMs' folders). */
  runDir: string;
  /** Whether a checkpoint file name (base name, e.g. "tpl-1a2b3c4d.state") is one of the pool's. */
  ownsCheckpoint(baseName: string): boolean;
  /** Whether a VM name is one of the pool's. */
  ownsVm(name: string): boolean;
}

export class HypervisorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HypervisorError';
  }
}

const VM_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** VM names end up in file names, QMP paths and bhyve's kernel VM name: allow only a safe slug. */
export function assertVmName(name: string): void {
  if (!VM_NAME.test(name)) {
    throw new HypervisorError(`invalid VM name "${name}": expected 1-40 of [a-z0-9-], starting alphanumeric`);
  }
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function assertVmNetwork(net: VmNetwork): void {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(net.tap)) throw new HypervisorError(`invalid tap name "${net.tap}"`);
  if (!MAC.test(net.mac)) throw new HypervisorError(`invalid MAC "${net.mac}": expected lower-case xx:xx:xx:xx:xx:xx`);
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(net.address)) {
    throw new HypervisorError(`invalid guest address "${net.address}": expected IPv4/prefix`);
  }
}
