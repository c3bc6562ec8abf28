import { access, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import type { Accelerator } from './argv.ts';

/**
 * Chooses the accelerator. KVM only when it demonstrably works: on this project's nested machines /dev/kvm may
 * open and create VMs while a guest hangs early, so its presence is not enough. `probeKvm` (supplied by the
 * backend: boot the real guest under KVM and wait for its probe) decides; COPPICE_QEMU_ACCEL=tcg|kvm overrides.
 */
export async function chooseAccelerator(
  probeKvm: () => Promise<boolean>,
  tbSizeMiB: number,
): Promise<{ accel: Accelerator; reason: string }> {
  const tcg: Accelerator = { kind: 'tcg', tbSizeMiB };
  const forced = process.env.COPPICE_QEMU_ACCEL;
  if (forced === 'tcg') return { accel: tcg, reason: 'COPPICE_QEMU_ACCEL=tcg' };
  if (forced === 'kvm') return { accel: { kind: 'kvm' }, reason: 'COPPICE_QEMU_ACCEL=kvm' };
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: tcg, reason: '/dev/kvm absent or not accessible' };
  }
  if (await probeKvm()) return { accel: { kind: 'kvm' }, reason: 'a guest booted and answered under KVM' };
  return { accel: tcg, reason: '/dev/kvm present but a guest did not answer under KVM' };
}

/** Host TSC frequency in kHz (from /proc/cpuinfo "cpu MHz"), handed to the guest kernel. */
export async function hostTscKhz(): Promise<number> {
  try {
    const info = await readFile('/proc/cpuinfo', 'utf8');
    const m = /cpu MHz\s*:\s*([\d.]+)/.exec(info);
    if (m) return Math.round(Number(m[1]) * 1000);
  } catch {
    /* fall through */
  }
  return 2_000_000;
}
