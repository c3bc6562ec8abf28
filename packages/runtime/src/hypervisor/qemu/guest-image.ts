import { fileURLToPath } from 'node:url';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { runChecked, type CommandRunner } from '../../host/command-runner.ts';
import type { GuestImage } from '../hypervisor.ts';

/** The repo's guest build script (idempotent: prints the cache directory, builds only when missing). */
export const buildGuestScript = fileURLToPath(new URL('../../../guest/build-guest.sh', import.meta.url));

/**
 * Locates the built Linux guest: COPPICE_GUEST_DIR if set, otherwise whatever build-guest.sh prints (building it
 * first when the cache lacks it).
 */
export async function locateGuest(runner: CommandRunner): Promise<string> {
  const dir =
    process.env.COPPICE_GUEST_DIR ??
    (await runChecked(runner, [buildGuestScript], { timeoutMs: 600_000 })).stdout.trim().split('\n').pop()!;
  for (const f of ['vmlinuz', 'initrd.cpio']) await access(join(dir, f));
  return dir;
}

export function guestImage(dir: string, name: string, memoryMiB: number, vcpus = 1): GuestImage {
  return { name, kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.cpio'), memoryMiB, vcpus };
}

/** The repo's Debian template build script (idempotent: prints the template's cache directory). */
export const buildTemplateScript = fileURLToPath(new URL('../../../guest/build-template.sh', import.meta.url));

export type TemplateName = 'base' | 'code-interpreter-v1';

/** Locates a built Debian template (vmlinuz, initrd.cpio, rootfs.ext4), building it first when the cache lacks it. */
export async function locateTemplate(runner: CommandRunner, name: TemplateName): Promise<string> {
  const dir = (await runChecked(runner, [buildTemplateScript, name], { timeoutMs: 1_800_000 })).stdout
    .trim()
    .split('\n')
    .pop()!;
  for (const f of ['vmlinuz', 'initrd.cpio', 'rootfs.ext4']) await access(join(dir, f));
  return dir;
}

/** A template's image: every VM of it writes to its own layer over the shared read-only rootfs.ext4. */
export function templateImage(dir: string, name: string, memoryMiB: number, vcpus = 1): GuestImage {
  return { ...guestImage(dir, name, memoryMiB, vcpus), rootDisk: join(dir, 'rootfs.ext4') };
}
