/**
 * Which hypervisor, network and guest image `coppice pool` uses on this host: bhyve + pf cubenet on FreeBSD,
 * QEMU + nftables cubenet on Linux. One place decides, by platform, so the CLI never pairs a backend with the
 * wrong host (the platform is injectable for tests, like `coppice net`'s).
 */
import { join } from 'node:path';
import type { CommandRunner } from '../host/command-runner.ts';
import { BhyveHypervisor } from '../hypervisor/bhyve/bhyve.ts';
import { type BhyveSystem, FreeBsdSystem } from '../hypervisor/bhyve/system.ts';
import type { GuestImage, Hypervisor } from '../hypervisor/hypervisor.ts';
import { guestImage as linuxGuestImage, locateGuest as locateLinuxGuest } from '../hypervisor/qemu/guest-image.ts';
import { QemuHypervisor } from '../hypervisor/qemu/qemu.ts';
import type { Cubenet } from '../net/cubenet.ts';
import { type CubenetPlatform, hostPlatform, openCubenet } from '../net/open.ts';
import type { NetConfig } from '../net/types.ts';

/** bhyve's UEFI firmware as the edk2-bhyve package installs it. */
export const DEFAULT_BHYVE_BOOTROM = '/usr/local/share/uefi-firmware/BHYVE_UEFI.fd';
/** The disk image file a FreeBSD guest directory holds. */
export const BHYVE_GUEST_DISK = 'disk.img';

export interface PoolBackend {
  platform: CubenetPlatform;
  /** The guest directory: COPPICE_GUEST_DIR, or (Linux only) the repo's guest build. */
  locateGuest(): Promise<string>;
  image(guestDir: string, name: string, memoryMiB: number, vcpus: number): GuestImage;
  hypervisor(image: GuestImage): Hypervisor;
  /** cubenet for the entries' taps (opened, not yet initialised). */
  openNetwork(): Promise<Cubenet>;
}

export interface PoolBackendHost {
  runner: CommandRunner;
  platform?: CubenetPlatform;
  /** FreeBSD: how bhyve processes and checkpoint files are handled (default: the real host's). */
  bhyveSystem?: BhyveSystem;
  env?: NodeJS.ProcessEnv;
  /** cubenet settings (prefix, state and lock folders); default: cubenet's defaults. */
  netConfig?: Partial<NetConfig>;
}

export function poolBackend(host: PoolBackendHost): PoolBackend {
  const { runner, platform = hostPlatform(), env = process.env } = host;
  const openNetwork = () => openCubenet({ runner, platform, ...(host.netConfig ? { config: host.netConfig } : {}) });
  if (platform === 'freebsd') {
    const system = host.bhyveSystem ?? new FreeBsdSystem(runner);
    return {
      platform,
      locateGuest: async () => {
        // No FreeBSD guest is built by this repository: the operator names a directory holding disk.img.
        const dir = env.COPPICE_GUEST_DIR;
        if (!dir)
          throw new Error(`on FreeBSD set COPPICE_GUEST_DIR to a directory holding the guest's ${BHYVE_GUEST_DISK}`);
        return dir;
      },
      image: (dir, name, memoryMiB, vcpus) => ({
        name,
        disk: join(dir, BHYVE_GUEST_DISK),
        bootrom: env.COPPICE_BHYVE_BOOTROM ?? DEFAULT_BHYVE_BOOTROM,
        memoryMiB,
        vcpus,
      }),
      hypervisor: () => new BhyveHypervisor(system),
      openNetwork,
    };
  }
  return {
    platform,
    locateGuest: () => locateLinuxGuest(runner),
    image: (dir, name, memoryMiB, vcpus) => linuxGuestImage(dir, name, memoryMiB, vcpus),
    hypervisor: (image) => new QemuHypervisor({ runner, kvmProbeImage: image }),
    openNetwork,
  };
}
