/**
 * bhyve(8) and bhyvectl(8) command lines. The slot layout is a pure function of the VM's spec, so a restore passes
 * exactly the -s/-l options of the VM that was checkpointed (bhyve(8) -r: "the configuration of devices in the new
 * VM [must] match the VM from which the snapshot was taken").
 */
import { HypervisorError, type VmSpec } from '../hypervisor.ts';

/** `-H` yields the vCPU on HLT and `-P` exits on PAUSE, so an idle or SIGSTOPped guest costs no CPU; `-A` (ACPI
 * tables, always built by current bhyve and accepted for compatibility), `-u` keeps the RTC in UTC, `-w` ignores
 * unimplemented MSRs. */
export const BHYVE_FLAGS = ['-H', '-A', '-P', '-u', '-w'] as const;

export interface DeviceLayout {
  /** `-s` values in order. */
  slots: string[];
  /** `-l` values in order. */
  lpc: string[];
}

/** The nmdm(4) pair of a VM's console: bhyve opens the A side, the runtime's probe talks on the B side. */
export function consoleDevices(unit: number): { bhyve: string; probe: string } {
  if (!Number.isInteger(unit) || unit < 0 || unit > 99999) throw new HypervisorError(`invalid nmdm unit ${unit}`);
  return { bhyve: `/dev/nmdm${unit}A`, probe: `/dev/nmdm${unit}B` };
}

const SAFE_PATH = /^\/[A-Za-z0-9_./-]+$/;

function assertPath(what: string, path: string | undefined): string {
  // bhyve splits option values at commas and config at '=': a path with either (or anything odd) is refused.
  if (!path || !SAFE_PATH.test(path) || path.includes('..'))
    throw new HypervisorError(`invalid ${what} path ${JSON.stringify(path)}`);
  return path;
}

export function deviceLayout(spec: VmSpec, consoleUnit: number): DeviceLayout {
  const disk = assertPath('disk image', spec.image.disk);
  const bootrom = assertPath('UEFI firmware', spec.image.bootrom);
  const slots = ['0,hostbridge', '1,lpc', `2,virtio-blk,${disk}`];
  if (spec.network) slots.push(`3,virtio-net,${spec.network.tap},mac=${spec.network.mac}`);
  return { slots, lpc: [`com1,${consoleDevices(consoleUnit).bhyve}`, `bootrom,${bootrom}`] };
}

function layoutArgs(layout: DeviceLayout): string[] {
  return [...layout.slots.flatMap((s) => ['-s', s]), ...layout.lpc.flatMap((l) => ['-l', l])];
}

/** `bhyve -c N -m SIZE -H -A -P -u -w -s ... -l com1,/dev/nmdmNA -l bootrom,FIRMWARE NAME`. */
export function bootArgv(spec: VmSpec, consoleUnit: number): string[] {
  const { vcpus, memoryMiB } = spec.image;
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 256) throw new HypervisorError(`invalid vCPU count ${vcpus}`);
  if (!Number.isInteger(memoryMiB) || memoryMiB < 16) throw new HypervisorError(`invalid memory size ${memoryMiB} MiB`);
  return [
    'bhyve',
    '-c',
    String(vcpus),
    '-m',
    `${memoryMiB}M`,
    ...BHYVE_FLAGS,
    ...layoutArgs(deviceLayout(spec, consoleUnit)),
    spec.name,
  ];
}

/**
 * `bhyve -r FILE [-o snapshot.vnode_restore=true] <same flags and devices> NAME`: vCPUs and memory come from the
 * checkpoint. With the vnode patches the guest memory is mapped copy-on-write over FILE instead of copied.
 */
export function restoreArgv(spec: VmSpec, consoleUnit: number, file: string, vnodeRestore: boolean): string[] {
  return [
    'bhyve',
    '-r',
    assertPath('checkpoint', file),
    ...(vnodeRestore ? ['-o', 'snapshot.vnode_restore=true'] : []),
    ...BHYVE_FLAGS,
    ...layoutArgs(deviceLayout(spec, consoleUnit)),
    spec.name,
  ];
}

export function suspendArgv(name: string, file: string): string[] {
  return ['bhyvectl', `--vm=${name}`, `--suspend=${assertPath('checkpoint', file)}`];
}

export function checkpointArgv(name: string, file: string): string[] {
  return ['bhyvectl', `--vm=${name}`, `--checkpoint=${assertPath('checkpoint', file)}`];
}

export function destroyArgv(name: string): string[] {
  return ['bhyvectl', `--vm=${name}`, '--destroy'];
}
