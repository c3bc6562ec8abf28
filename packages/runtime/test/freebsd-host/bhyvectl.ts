import { type Vm, checkpointMeta, endVmProcess, snapshotSupport, vmmState } from './bhyve.ts';
import { files } from './fs.ts';
import { type FreeBsdHost, ToolFailure, type ToolOutput } from './host.ts';
import { processTable } from './processes.ts';

/**
 * bhyvectl(8) for the model: `--vm=NAME` with `--destroy`, `--checkpoint=FILE`, `--suspend=FILE` (the last two
 * only in a BHYVE_SNAPSHOT build, and only through the bhyve process that owns the VM: bhyvectl sends the request
 * over the VM's checkpoint socket), `--create` and `--get-stats`. Long options are parsed as getopt_long does.
 */
const EXPECTS_VALUE = new Set(['vm', 'checkpoint', 'suspend']);
const FLAGS = new Set(['destroy', 'create', 'get-stats', 'force-poweroff']);

export function registerBhyvectl(host: FreeBsdHost): void {
  host.register('bhyvectl', (h, args) => bhyvectl(h, args));
}

function usage(): ToolFailure {
  return new ToolFailure(
    'Usage: bhyvectl --vm=<vmname>\n       [--create]\n       [--destroy]\n       [--checkpoint=<filename>]\n       [--suspend=<filename>]',
    1,
  );
}

function bhyvectl(host: FreeBsdHost, args: string[]): ToolOutput {
  const opts = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(a);
    if (!m?.[1]) throw usage();
    const key = m[1];
    if (EXPECTS_VALUE.has(key)) {
      const value = m[2] ?? args[++i];
      if (value === undefined || value === '')
        throw new ToolFailure(`option \`--${key}' requires an argument\n${usage().message}`, 1);
      opts.set(key, value);
    } else if (FLAGS.has(key)) {
      if (m[2] !== undefined) throw new ToolFailure(`option \`--${key}' doesn't allow an argument`, 1);
      opts.set(key, 'true');
    } else throw new ToolFailure(`unrecognized option \`${a}'\n${usage().message}`, 1);
  }
  const name = opts.get('vm');
  if (!name) throw usage();
  const vmm = vmmState(host);
  if (opts.has('create')) {
    if (vmm.vms.has(name)) throw new ToolFailure(`vm_create: File exists`, 1);
    vmm.vms.set(name, {
      name,
      ncpus: 1,
      memMiB: 0,
      slots: [],
      lpc: new Map(),
      flags: new Set(),
      config: new Map(),
      memoryBacking: 'anonymous',
    });
    return {};
  }
  const vm = vmm.vms.get(name);
  if (!vm) throw new ToolFailure(`vm_open: ${name} could not be opened: No such file or directory`, 1);
  const checkpoint = opts.get('checkpoint');
  const suspend = opts.get('suspend');
  if (checkpoint !== undefined || suspend !== undefined) {
    if (!snapshotSupport(host))
      throw new ToolFailure(`unrecognized option \`--${checkpoint !== undefined ? 'checkpoint' : 'suspend'}'`, 1);
    if (checkpoint !== undefined && suspend !== undefined) throw usage();
    writeCheckpoint(host, vm, (checkpoint ?? suspend) as string);
    if (suspend !== undefined) {
      // After --suspend, bhyve destroys the VM and exits 0 (vm_checkpoint() with stop_vm).
      endVmProcess(host, vm, 0);
      vmm.vms.delete(vm.name);
    }
    return {};
  }
  if (opts.has('destroy')) {
    // Destroying the VM makes its bhyve process's vm_run() fail: bhyve exits with status 4.
    endVmProcess(host, vm, 4);
    vmm.vms.delete(name);
    return {};
  }
  if (opts.has('force-poweroff')) {
    endVmProcess(host, vm, 1);
    return {};
  }
  if (opts.has('get-stats')) return { stdout: `vcpu0 stats:\nnumber of ticks vcpu was idle\t0\n` };
  throw usage();
}

function writeCheckpoint(host: FreeBsdHost, vm: Vm, file: string): void {
  const proc = vm.pid === undefined ? undefined : processTable(host).processes.get(vm.pid);
  if (!proc || proc.state === 'exited') throw new ToolFailure('connect() failed: Connection refused', 1);
  // The request is answered by the bhyve process: a SIGSTOPped bhyve never answers and bhyvectl would hang.
  if (proc.state === 'stopped')
    throw new ToolFailure('checkpoint request not answered: the bhyve process is stopped (SIGSTOP)', 1);
  const dir = file.slice(0, file.lastIndexOf('/'));
  const fs = files(host);
  if (dir && !fs.has(`${dir}/`))
    throw new ToolFailure(`Failed to open checkpoint file ${file}: No such file or directory`, 1);
  fs.set(file, { content: '', size: vm.memMiB * 1024 * 1024 });
  fs.set(`${file}.kern`, { content: 'kern', size: 65536 });
  const meta = checkpointMeta(vm);
  fs.set(`${file}.meta`, { content: meta, size: Buffer.byteLength(meta) });
}
