import { getopt } from './getopt.ts';
import { files } from './fs.ts';
import { type FreeBsdHost, ToolFailure } from './host.ts';
import { netState } from './netif.ts';
import { type ModelProcess, exitProcess, processTable, registerStarter } from './processes.ts';
import { systemInfo } from './system.ts';

/**
 * bhyve(8) for the model, as a long-running process (see processes.ts). Options follow bhyve_optparse()'s getopt
 * string ("aehuwxACDHIPSWYk:f:o:p:G:c:s:m:l:K:U:r:", `-r` only in a BHYVE_SNAPSHOT build), slots follow
 * pci_parse_slot() (pci_emul.c), LPC devices lpc_device_parse(), and the exit statuses bhyve uses: 1 for usage
 * (and a checkpoint it cannot read), 4 for a device it cannot set up, 64 (EX_USAGE) for a bad -c/-l/-o/-m value.
 * A started VM exists in the kernel (vmm part) until `bhyvectl --destroy`, a `-D` power-off, or `--suspend`.
 */
export interface Slot {
  bus: number;
  slot: number;
  func: number;
  device: string;
  config?: string;
}

export interface Vm {
  name: string;
  /** The bhyve process attached to the VM, if any. */
  pid?: number;
  ncpus: number;
  memMiB: number;
  slots: Slot[];
  lpc: Map<string, string>;
  flags: Set<string>;
  config: Map<string, string>;
  restoredFrom?: string;
  /** How guest memory was set up: mapped over the checkpoint (patched bhyve, vnode restore) or anonymous memory. */
  memoryBacking: 'vnode' | 'anonymous';
}

export interface VmmState {
  vms: Map<string, Vm>;
  /**
   * bhyve and vmm carry this project's vnode-restore patches (patches/). The patched bhyve_init_config() sets the
   * default `snapshot.vnode_restore=false`, so `bhyve -o config.dump=true NAME` lists the key; a stock bhyve stores
   * an unknown `-o` key without complaint and never reads it.
   */
  vnodePatch: boolean;
}

export function vmmState(host: FreeBsdHost): VmmState {
  return host.part('vmm', () => ({ vms: new Map<string, Vm>(), vnodePatch: false }));
}

export function snapshotSupport(host: FreeBsdHost): boolean {
  return /options\s+BHYVE_SNAPSHOT\b/.test(host.sysctls.get('kern.conftxt') ?? '');
}

// bhyve(8) PCI EMULATION.
const PCI_DEVICES = new Set([
  'hostbridge',
  'amd_hostbridge',
  'passthru',
  'virtio-net',
  'virtio-blk',
  'virtio-scsi',
  'virtio-9p',
  'virtio-rnd',
  'virtio-console',
  'virtio-input',
  'ahci',
  'ahci-cd',
  'ahci-hd',
  'e1000',
  'uart',
  'lpc',
  'fbuf',
  'xhci',
  'nvme',
  'hda',
]);
const LPC_DEVICES = new Set(['com1', 'com2', 'com3', 'com4', 'bootrom', 'fwcfg', 'tpm', 'pc-testdev']);
const EX_USAGE = 64;

export function registerBhyve(host: FreeBsdHost): void {
  registerStarter(host, 'bhyve', startBhyve);
  host.register('bhyve', (h, args) => dumpConfig(h, args));
}

/** bhyve_init_config()'s defaults (usr.sbin/bhyve/amd64/bhyverun_machdep.c), plus the patch's key when patched. */
function defaultConfig(host: FreeBsdHost): Map<string, string> {
  const d = new Map([
    ['acpi_tables', 'true'],
    ['acpi_tables_in_memory', 'true'],
    ['memory.size', '256M'],
    ['x86.strictmsr', 'true'],
    ['lpc.fwcfg', 'bhyve'],
  ]);
  if (vmmState(host).vnodePatch) d.set('snapshot.vnode_restore', 'false');
  return d;
}

/**
 * `bhyve ... -o config.dump=true NAME` run to completion: main() prints the configuration (dump_config(), one
 * `key=value` a line) and exits 1 before it opens the VM. The model runs every other bhyve as a long-running
 * process (spawn), so a command line without config.dump is refused here rather than half-run.
 */
function dumpConfig(host: FreeBsdHost, args: string[]) {
  const p = parse(host, args);
  if (!p.name) throw usage();
  if (!['true', '1', 'yes', 'on'].includes(p.config.get('config.dump') ?? '')) {
    throw new ToolFailure(
      'the host model runs bhyve as a long-running process (spawn) unless -o config.dump=true',
      EX_USAGE,
    );
  }
  const all = new Map([...defaultConfig(host), ...p.config, ['name', p.name]]);
  const stdout = [...all].map(([k, v]) => `${k}=${v}\n`).join('');
  return { stdout, stderr: '', code: 1 };
}

interface Parsed {
  flags: Set<string>;
  ncpus: number;
  memMiB: number;
  slots: Slot[];
  lpc: Map<string, string>;
  config: Map<string, string>;
  restore?: string;
  name?: string;
}

function usage(): ToolFailure {
  return new ToolFailure(
    'Usage: bhyve [-aCDeHhPSuWwxY]\n       [-c [[cpus=]numcpus][,sockets=n][,cores=n][,threads=n]]\n       [-G port] [-k config_file] [-l lpc] [-m mem] [-o var=value]\n       [-p vcpu:hostcpu] [-r file] [-s pci] [-U uuid] vmname',
    1,
  );
}

function parse(host: FreeBsdHost, args: string[]): Parsed {
  const snapshot = snapshotSupport(host);
  const optstring = snapshot ? 'aehuwxACDHIPSWYk:f:o:p:G:c:s:m:l:K:U:r:' : 'aehuwxACDHIPSWYk:f:o:p:G:c:s:m:l:K:U:';
  const p: Parsed = { flags: new Set(), ncpus: 1, memMiB: 256, slots: [], lpc: new Map(), config: new Map() };
  const rest = getopt(args, optstring, { illegal: usage, missingArgument: usage }, (c, value) => {
    if (value !== undefined) return option(host, p, c, value);
    if (c === 'h') throw usage();
    p.flags.add(c);
  });
  if (rest.length > 1) throw usage();
  if (rest[0] !== undefined) p.name = rest[0];
  return p;
}

function option(host: FreeBsdHost, p: Parsed, c: string, value: string): void {
  switch (c) {
    case 'c': {
      const n = topology(value);
      if (n === undefined) throw new ToolFailure(`invalid cpu topology '${value}'`, EX_USAGE);
      p.ncpus = n;
      break;
    }
    case 'm': {
      const m = memsize(value);
      if (m === undefined) throw new ToolFailure(`invalid memsize '${value}'`, EX_USAGE);
      p.memMiB = m;
      break;
    }
    case 's':
      p.slots.push(parseSlot(p, value));
      break;
    case 'l': {
      const comma = value.indexOf(',');
      const dev = comma < 0 ? value : value.slice(0, comma);
      const conf = comma < 0 ? '' : value.slice(comma + 1);
      if (!LPC_DEVICES.has(dev) || p.lpc.has(dev) || (dev !== 'pc-testdev' && !conf)) {
        throw new ToolFailure(`invalid lpc device configuration '${value}'`, EX_USAGE);
      }
      p.lpc.set(dev, conf);
      break;
    }
    case 'o': {
      const eq = value.indexOf('=');
      if (eq <= 0) throw new ToolFailure(`invalid configuration option '${value}'`, EX_USAGE);
      p.config.set(value.slice(0, eq), value.slice(eq + 1));
      break;
    }
    case 'r':
      p.restore = value;
      break;
    case 'U':
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value))
        throw new ToolFailure(`invalid UUID '${value}'`, 4);
      break;
    default:
      throw new ToolFailure(`-${c} is not supported by the host model`, EX_USAGE);
  }
  void host;
}

/** -c [[cpus=]n][,sockets=n][,cores=n][,threads=n]: cpus must equal sockets*cores*threads when both are given. */
function topology(text: string): number | undefined {
  let cpus: number | undefined;
  let sockets = 1;
  let cores = 1;
  let threads = 1;
  for (const part of text.split(',')) {
    const m = /^(?:(cpus|sockets|cores|threads)=)?(\d+)$/.exec(part);
    if (!m) return undefined;
    const n = Number(m[2]);
    if (n < 1 || n > 65535) return undefined;
    const key = m[1] ?? 'cpus';
    if (key === 'cpus') cpus = n;
    else if (key === 'sockets') sockets = n;
    else if (key === 'cores') cores = n;
    else threads = n;
  }
  const product = sockets * cores * threads;
  if (cpus === undefined) return product;
  if (text.includes('=') && /sockets|cores|threads/.test(text) && cpus !== product) return undefined;
  return cpus;
}

/** vm_parse_memsize(): a number with an optional K/M/G/T suffix; a bare number means megabytes. */
function memsize(text: string): number | undefined {
  const m = /^(\d+)([KkMmGgTt])?$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'M').toUpperCase();
  const mib = unit === 'K' ? n / 1024 : unit === 'M' ? n : unit === 'G' ? n * 1024 : n * 1024 * 1024;
  if (!Number.isInteger(mib) || mib < 1) return undefined;
  return mib;
}

function parseSlot(p: Parsed, opt: string): Slot {
  const comma = opt.indexOf(',');
  if (comma < 0) throw new ToolFailure(`Invalid PCI slot info field "${opt}"`, 4);
  const where = opt.slice(0, comma);
  const rest = opt.slice(comma + 1);
  const c2 = rest.indexOf(',');
  const device = c2 < 0 ? rest : rest.slice(0, c2);
  const config = c2 < 0 ? undefined : rest.slice(c2 + 1);
  const nums = where.split(':');
  if (nums.length > 3 || nums.some((n) => !/^\d+$/.test(n)))
    throw new ToolFailure(`Invalid PCI slot info field "${opt}"`, 4);
  const [a, b, c] = nums.map(Number) as [number, number?, number?];
  const [bus, slot, func] = nums.length === 3 ? [a, b!, c!] : nums.length === 2 ? [0, a, b!] : [0, a, 0];
  if (bus > 255 || slot > 31 || func > 7) throw new ToolFailure(`Invalid PCI slot info field "${opt}"`, 4);
  if (!PCI_DEVICES.has(device)) throw new ToolFailure(`pci slot ${bus}:${slot}:${func}: unknown device "${device}"`, 4);
  if (p.slots.some((s) => s.bus === bus && s.slot === slot && s.func === func)) {
    throw new ToolFailure(`pci slot ${bus}:${slot}:${func} already occupied!`, 4);
  }
  if (device === 'lpc' && bus !== 0) throw new ToolFailure('LPC bridge can only be configured on bus 0', 4);
  if (device === 'lpc' && p.slots.some((s) => s.device === 'lpc'))
    throw new ToolFailure('Only one LPC bridge is allowed', 4);
  return config === undefined ? { bus, slot, func, device } : { bus, slot, func, device, config };
}

interface CheckpointMeta {
  vmname: string;
  ncpus: number;
  memMiB: number;
  slots: Slot[];
  lpc: [string, string][];
}

export function checkpointMeta(vm: Vm): string {
  const meta: CheckpointMeta = {
    vmname: vm.name,
    ncpus: vm.ncpus,
    memMiB: vm.memMiB,
    slots: vm.slots,
    lpc: [...vm.lpc],
  };
  return JSON.stringify(meta);
}

function startBhyve(host: FreeBsdHost, args: string[], proc: ModelProcess): void {
  const p = parse(host, args);
  const fs = files(host);
  const vmm = vmmState(host);
  let meta: CheckpointMeta | undefined;
  if (p.restore !== undefined) {
    const f = p.restore;
    const text = fs.get(`${f}.meta`)?.content;
    if (!fs.has(f) || !fs.has(`${f}.kern`) || text === undefined) {
      throw new ToolFailure(`Failed to read checkpoint info from file: '${f}'.`, 1);
    }
    try {
      meta = JSON.parse(text) as CheckpointMeta;
    } catch {
      throw new ToolFailure(`Failed to read checkpoint info from file: '${f}'.`, 1);
    }
    p.name ??= meta.vmname;
  }
  if (!p.name) throw usage();
  if (!/^[A-Za-z0-9_.-]{1,229}$/.test(p.name)) throw new ToolFailure(`vm_create: Invalid argument`, 4);

  const maxcpu = Number(host.sysctls.get('hw.vmm.maxcpu') ?? '16');
  const ncpus = meta ? meta.ncpus : p.ncpus;
  if (ncpus > maxcpu) throw new ToolFailure(`${ncpus} vCPUs requested but only ${maxcpu} available`, 4);
  if (!systemInfo(host).modules.has('vmm')) throw new ToolFailure('vm_create: Device not configured', 4);

  // A stock bhyve never reads snapshot.vnode_restore: the key is stored and ignored, memory is copied as always.
  // The patched one maps guest memory over the checkpoint, which cannot also be wired and needs -r.
  const vnodeRestore = vmm.vnodePatch && p.config.get('snapshot.vnode_restore') === 'true';
  if (vnodeRestore && p.flags.has('S'))
    throw new ToolFailure('snapshot.vnode_restore cannot be used with wired memory (-S)', 4);
  if (vnodeRestore && !p.restore) throw new ToolFailure('snapshot.vnode_restore requires -r', 4);

  const existing = vmm.vms.get(p.name);
  // Two bhyve processes on one VM would reinitialise it under each other (do_open() reinits an existing VM when
  // booting from a ROM); the model refuses so a runtime bug of that kind shows.
  if (existing?.pid !== undefined && processTable(host).processes.get(existing.pid)?.state !== 'exited') {
    throw new ToolFailure(`vm_create: VM ${p.name} is in use by pid ${existing.pid}`, 4);
  }

  // Device initialisation (init_pci, lpc backends): backing files, taps and consoles must be usable.
  const net = netState(host);
  const inUse = new Set<string>();
  for (const vm of vmm.vms.values()) {
    if (vm.name === p.name || vm.pid === undefined) continue;
    for (const s of vm.slots) if (s.device === 'virtio-net' && s.config) inUse.add(s.config.split(',')[0]!);
  }
  for (const s of p.slots) {
    if ((s.device === 'virtio-blk' || s.device === 'ahci-hd') && s.config) {
      const path = s.config.split(',')[0]!;
      if (!fs.has(path)) throw new ToolFailure(`Could not open backing file: ${path}: No such file or directory`, 4);
    }
    if ((s.device === 'virtio-net' || s.device === 'e1000') && s.config) {
      const tap = s.config.split(',')[0]!;
      const iface = net.interfaces.get(tap);
      if (!/^tap\d+$/.test(tap) || !iface || iface.vnet !== null)
        throw new ToolFailure(`open of tap device /dev/${tap} failed`, 4);
      if (inUse.has(tap)) throw new ToolFailure(`open of tap device /dev/${tap} failed: Device busy`, 4);
    }
  }
  for (const [dev, conf] of p.lpc) {
    if (dev.startsWith('com')) {
      const nmdm = /^\/dev\/nmdm(\d+)[AB]$/.test(conf);
      if (!(conf === 'stdio' || nmdm || conf.startsWith('tcp=')))
        throw new ToolFailure(`Unable to initialize backend '${conf}' for LPC device ${dev}`, 4);
      if (nmdm && !systemInfo(host).modules.has('nmdm'))
        throw new ToolFailure(`Unable to initialize backend '${conf}' for LPC device ${dev}`, 4);
    }
    if (dev === 'bootrom') {
      const rom = conf.split(',')[0]!;
      if (!fs.has(rom)) throw new ToolFailure(`Error opening bootrom "${rom}": No such file or directory`, 4);
    }
  }
  if (meta) {
    // bhyve(8) -r: "the configuration of devices in the new VM [must] match the VM from which the snapshot was taken".
    const layout = (slots: Slot[], lpc: [string, string][]) =>
      JSON.stringify({
        slots: slots.map((s) => `${s.bus}:${s.slot}:${s.func},${s.device}`).sort(),
        lpc: lpc.map(([d]) => d).sort(),
      });
    if (layout(meta.slots, meta.lpc) !== layout(p.slots, [...p.lpc]))
      throw new ToolFailure('Failed to restore PCI device state.', 1);
  }

  const vm: Vm = {
    name: p.name,
    pid: proc.pid,
    ncpus,
    memMiB: meta ? meta.memMiB : p.memMiB,
    slots: p.slots,
    lpc: p.lpc,
    flags: p.flags,
    config: p.config,
    memoryBacking: vnodeRestore ? 'vnode' : 'anonymous',
  };
  if (p.restore !== undefined) vm.restoredFrom = p.restore;
  vmm.vms.set(p.name, vm);
  proc.onSignal = (signal) => {
    if (signal === 'SIGKILL') {
      // The process dies; the kernel VM stays until bhyvectl --destroy.
      delete vm.pid;
      return undefined;
    }
    if (signal === 'SIGTERM') {
      // ACPI power-off; the guest powers off, bhyve exits 1 ("powered off"); -D destroys the VM too.
      delete vm.pid;
      if (vm.flags.has('D')) vmm.vms.delete(vm.name);
      return 1;
    }
    return undefined;
  };
}

/** Ends the bhyve process of a VM as bhyve does after --suspend or --destroy. */
export function endVmProcess(host: FreeBsdHost, vm: Vm, code: number): void {
  if (vm.pid !== undefined) exitProcess(host, vm.pid, code);
  delete vm.pid;
}

/** Whether a VM's serial console answers: its bhyve process runs (not stopped) and com1 is the given device. */
export function consoleAnswers(host: FreeBsdHost, device: string): boolean {
  for (const vm of vmmState(host).vms.values()) {
    if (vm.lpc.get('com1') !== device || vm.pid === undefined) continue;
    return processTable(host).processes.get(vm.pid)?.state === 'running';
  }
  return false;
}
