import { access, readdir } from 'node:fs/promises';
import { ProcessRunner } from '../../src/host/command-runner.ts';
import { guestImage, locateGuest } from '../../src/hypervisor/qemu/guest-image.ts';
import type { GuestImage } from '../../src/hypervisor/hypervisor.ts';

/** The real guest for tests that boot VMs, or undefined (the test is skipped) when this host cannot build it. */
export async function testGuest(memoryMiB = 128): Promise<GuestImage | undefined> {
  try {
    await access('/usr/bin/qemu-system-x86_64');
    return guestImage(await locateGuest(new ProcessRunner()), `cpt-${memoryMiB}`, memoryMiB);
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return true;
}

/** /dev/shm files whose names contain `tag`. */
export async function shmFiles(tag: string): Promise<string[]> {
  return (await readdir('/dev/shm')).filter((f) => f.includes(tag));
}
