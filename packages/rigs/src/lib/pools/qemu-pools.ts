/**
 * What the pool rigs (cold-start, density, pool-refill) share: the QEMU backend with the repo's guest, and pools
 * whose state, checkpoints and VM sockets live in the run's own folders and are destroyed when the rig ends.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_BOOT_TB_SIZE_MIB, QemuHypervisor } from '@coppice/runtime/hypervisor';
import { guestImage, locateGuest } from '@coppice/runtime/hypervisor';
import type { GuestImage } from '@coppice/runtime/hypervisor';
import { Pool, defaultPoolConfig, type PoolConfig, type PoolMode, type PoolOptions } from '@coppice/runtime/pool';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';

export interface QemuRigSetup {
  hv: QemuHypervisor;
  guestDir: string;
  image(memoryMiB: number): GuestImage;
  /** Short tmpfs folder for VM sockets (unix socket paths are limited to 107 bytes). */
  runRoot: string;
  stateDir: string;
}

export async function poolRigPreflight(ctx: PreflightContext): Promise<string[]> {
  if (ctx.platform !== 'linux')
    return ['the QEMU pools run on Linux (the bhyve pools are tested against the FreeBSD model)'];
  const hv = new QemuHypervisor({ runner: ctx.runner });
  const reasons = await hv.preflight();
  try {
    await locateGuest(ctx.runner);
  } catch (e) {
    reasons.push(
      `the guest cannot be built (packages/runtime/guest/build-guest.sh): ${(e as Error).message.split('\n')[0]}`,
    );
  }
  return reasons;
}

/**
 * `defaultTbSizeMiB`: TCG's translation cache per VM when neither the rig's parameter nor COPPICE_TCG_TB_MIB sets
 * it. 4 MiB keeps an idle clone small (the density rig's breakdown shows its share); a rig that runs code in the
 * Debian templates passes the sandboxes' own size, or it measures retranslation.
 */
export async function setupQemu(ctx: RigContext, options: { defaultTbSizeMiB?: number } = {}): Promise<QemuRigSetup> {
  const tbSizeMiB = ctx.param('tcgTbSizeMiB', Number(process.env.COPPICE_TCG_TB_MIB ?? options.defaultTbSizeMiB ?? 4));
  // A template's boot runs with a larger cache (the clones restore into the small one): see bootTbSizeMiB.
  const bootTbSizeMiB = ctx.param('tcgBootTbSizeMiB', DEFAULT_BOOT_TB_SIZE_MIB);
  const guestDir = await locateGuest(ctx.runner);
  const hv = new QemuHypervisor({
    runner: ctx.runner,
    tbSizeMiB,
    bootTbSizeMiB,
    kvmProbeImage: guestImage(guestDir, 'kvm-probe', 128),
  });
  const accel = await hv.accelerator();
  ctx.param('accelerator', accel.accel.kind);
  ctx.param('acceleratorReason', accel.reason);
  ctx.fact('qemu.accelerator', `${accel.accel.kind} (${accel.reason})`);
  ctx.fact('qemu.version', await hv.version());
  ctx.param('guest', guestDir);
  const runRoot = `/run/coppice-rig-${process.pid}`;
  ctx.defer(() => rm(runRoot, { recursive: true, force: true }));
  return {
    hv,
    guestDir,
    image: (memoryMiB) => guestImage(guestDir, `guest-${memoryMiB}`, memoryMiB),
    runRoot,
    stateDir: join(ctx.tmpdir, 'pools'),
  };
}

/** The configuration of a rig's pool: state, checkpoints and VM folders inside the run's own folders. */
export function rigPoolConfig(
  q: QemuRigSetup,
  template: string,
  mode: PoolMode,
  memoryMiB: number,
  size: { hot: number; durable: number },
): PoolConfig {
  return {
    ...defaultPoolConfig(template, q.image(memoryMiB), mode),
    size: { ...size },
    stateDir: q.stateDir,
    runRoot: q.runRoot,
    refillConcurrency: 2,
  };
}

/** A pool for one configuration; destroyed (every VM, checkpoint, file) when the rig ends. */
export async function openRigPool(
  ctx: RigContext,
  q: QemuRigSetup,
  template: string,
  mode: PoolMode,
  memoryMiB: number,
  size: { hot: number; durable: number },
  onFill?: PoolOptions['onFill'],
): Promise<Pool> {
  const config = rigPoolConfig(q, template, mode, memoryMiB, size);
  const pool = await Pool.open({
    config,
    hypervisor: q.hv,
    onBackgroundError: (e) => ctx.log(`${template}: background: ${e.message}`),
    onFill,
  });
  ctx.defer(async () => {
    await pool.destroyAll();
    await pool.close();
  });
  return pool;
}
