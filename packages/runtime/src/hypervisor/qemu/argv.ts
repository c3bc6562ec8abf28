import { HypervisorError, type GuestImage, type VmNetwork } from '../hypervisor.ts';

export type Accelerator = { kind: 'kvm' } | { kind: 'tcg'; tbSizeMiB: number };

export interface QemuArgs {
  binary: string;
  image: GuestImage;
  accel: Accelerator;
  /** Guest RAM: a file (template sharing; share=on for the template, off for clones) or anonymous memory. */
  memory: { kind: 'file'; path: string; share: boolean } | { kind: 'ram' };
  qmpSocket: string;
  serialSocket: string;
  network?: VmNetwork;
  /** The VM's own writable disk (a qcow2 layer over the image's root disk), attached as virtio-blk /dev/vda. */
  disk?: string;
  /** Start paused waiting for `migrate-incoming`. */
  incoming: boolean;
  /** TCG: every vCPU on one thread (thread=single). */
  tcgSingleThread?: boolean;
  /** TSC frequency handed to the guest: microvm has no PIT/HPET to calibrate against and the kernel hangs. */
  tscKhz: number;
}

/**
 * The QEMU command line of a Coppice microVM. Device layout must be identical between a checkpoint's source and
 * its restores, so it depends only on the image, never on whether the VM has a real network: without one the NIC
 * sits on an empty hub port (no route anywhere).
 */
/**
 * A path that goes into a comma-separated option value (`mem-path=`, `socket,path=`, `unix:PATH,server=on`): QEMU
 * splits those at commas (`,,` escapes one, and escaping is not something to get right for hostile text), so a comma
 * is refused, as are a relative path and control characters.
 */
export function assertOptionPath(what: string, path: string): string {
  if (!path.startsWith('/') || /[\0-\x1f\x7f]/.test(path))
    throw new HypervisorError(`invalid ${what} path ${JSON.stringify(path)}: expected an absolute path`);
  if (path.includes(','))
    throw new HypervisorError(`invalid ${what} path ${JSON.stringify(path)}: QEMU splits option values at a comma`);
  return path;
}

export function qemuArgv(a: QemuArgs): string[] {
  const memPath = a.memory.kind === 'file' ? assertOptionPath('memory file', a.memory.path) : undefined;
  const qmpSocket = assertOptionPath('QMP socket', a.qmpSocket);
  const serialSocket = assertOptionPath('serial socket', a.serialSocket);
  const mem = `${a.image.memoryMiB}M`;
  const cmdline = [
    'console=ttyS0',
    'quiet',
    'panic=-1',
    'init_on_alloc=0',
    `tsc_early_khz=${a.tscKhz}`,
    `lpj=${a.tscKhz * 2}`,
    a.network ? `coppice.ip=${a.network.address}` : '',
    a.network?.gateway ? `coppice.gw=${a.network.gateway}` : '',
    a.image.cmdline ?? '',
  ]
    .filter(Boolean)
    .join(' ');
  const argv = [
    a.binary,
    '-M',
    'microvm,memory-backend=mem',
    ...(a.accel.kind === 'kvm'
      ? ['-accel', 'kvm', '-cpu', 'host']
      : // TCG's default CPU (qemu64) runs code that Debian's libraries pick for it and then cannot execute:
        // matplotlib's PNG output died with SIGILL in the code-interpreter guest. `max` is every feature TCG emulates.
        ['-accel', `tcg,tb-size=${a.accel.tbSizeMiB}${a.tcgSingleThread ? ',thread=single' : ''}`, '-cpu', 'max']),
    '-m',
    mem,
    '-smp',
    String(a.image.vcpus),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-object',
    a.memory.kind === 'file'
      ? `memory-backend-file,id=mem,size=${mem},mem-path=${memPath},share=${a.memory.share ? 'on' : 'off'}`
      : `memory-backend-ram,id=mem,size=${mem}`,
    // A restored VM never boots: without -kernel QEMU does not read the kernel into a buffer of its own (the size of
    // vmlinuz, 8 MiB with the repo's guest) that it would hold for the VM's whole life. The kernel, initrd and command
    // line are firmware-config data, not device state: the migration stream does not carry them.
    ...(a.incoming ? [] : ['-kernel', a.image.kernel ?? '', '-initrd', a.image.initrd ?? '', '-append', cmdline]),
    '-chardev',
    `socket,id=ser,path=${serialSocket},server=on,wait=off`,
    '-serial',
    'chardev:ser',
    '-qmp',
    `unix:${qmpSocket},server=on,wait=off`,
    '-netdev',
    a.network ? `tap,id=n0,ifname=${a.network.tap},script=no,downscript=no` : 'hubport,id=n0,hubid=0',
    '-device',
    `virtio-net-device,netdev=n0${a.network ? `,mac=${a.network.mac}` : ''}`,
  ];
  if (a.disk) {
    assertOptionPath('disk', a.disk);
    argv.push('-drive', `file=${a.disk},format=qcow2,if=none,id=vd0`, '-device', 'virtio-blk-device,drive=vd0');
  }
  if (a.incoming) argv.push('-S', '-incoming', 'defer');
  return argv;
}
