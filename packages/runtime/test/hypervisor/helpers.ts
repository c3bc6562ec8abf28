import { access, readdir, readFile } from 'node:fs/promises';
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

/** A VM process that is gone or a zombie (killed; reaped by whichever parent it has): it runs no guest. */
export async function vmGone(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat === '' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

/** /dev/shm files whose names contain `tag`. */
export async function shmFiles(tag: string): Promise<string[]> {
  return (await readdir('/dev/shm')).filter((f) => f.includes(tag));
}
