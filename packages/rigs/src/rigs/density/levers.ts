/**
 * Per-VM memory levers, measured one by one in the same run: for each lever, n VMs restored from the shared template
 * by QEMU processes started with that lever (environment, TCG threads, translation cache size, or KSM on), held
 * stopped, and split by mapping (qemu-memory.ts). And where the heap goes before any guest code runs: the anonymous
 * mappings of a QEMU process held at start, with the boot command line and with the restore one.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { computeStat } from '@coppice/results-schema';
import type { Checkpoint } from '@coppice/runtime/hypervisor';
import { qemuArgv } from '@coppice/runtime/hypervisor';
import { QemuHypervisor } from '@coppice/runtime/hypervisor';
import { DEFAULT_QEMU_TUNING, qemuProcessEnv, type QemuTuning } from '@coppice/runtime/hypervisor';
import type { RigContext } from '../../harness/rig-context.ts';
import type { QemuRigSetup } from '../../lib/pools/qemu-pools.ts';
import { withKsm } from './ksm.ts';
import type { LeverName } from './lever-names.ts';
import { parseSmaps, qemusMemory, type GuestRam, type QemuMemory } from './qemu-memory.ts';
import { restoreHeld } from './restore-n.ts';

export interface Lever {
  name: LeverName;
  tuning: QemuTuning;
  /** TCG translation cache, MiB; the rig's setting when unset. */
  tbSizeMiB?: number;
  /** KSM on (the host's settings restored afterwards) while the VMs are held. */
  ksm?: boolean;
}

/** Each lever alone against "none" (QEMU as it starts without tuning), and the runtime's choice. */
export const LEVERS: readonly Lever[] = [
  { name: 'none', tuning: {} },
  { name: 'arena-1', tuning: { mallocArenaMax: 1 } },
  {
    name: 'malloc-trim',
    tuning: { mallocArenaMax: 1, mallocTunables: { trim_threshold: 0, top_pad: 0, mmap_threshold: 65536 } },
  },
  { name: 'tcg-single', tuning: { tcgSingleThread: true } },
  { name: 'tb-2', tuning: {}, tbSizeMiB: 2 },
  { name: 'ksm', tuning: {}, ksm: true },
  { name: 'runtime', tuning: DEFAULT_QEMU_TUNING },
];

const MiB = 2 ** 20;

/** KSM as the rig runs it: fast enough to finish two full scans of n idle VMs in seconds, restored afterwards. */
const KSM_RUN = { pages_to_scan: '4000', sleep_millisecs: '20' };

async function threadsOf(pid: number): Promise<number> {
  const m = /^Threads:\s+(\d+)$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/status has no Threads line`);
  return Number(m[1]);
}

/** Measures every lever at n, `rounds` times; series labelled by lever, figures per VM. */
export async function measureLevers(
  ctx: RigContext,
  q: QemuRigSetup,
  memoryMiB: number,
  template: Checkpoint,
  ram: GuestRam,
  n: number,
  rounds: number,
  settleS: number,
): Promise<void> {
  const { accel } = await q.hv.accelerator();
  const ksmRecords: Record<string, unknown>[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const lever of LEVERS) {
      ctx.signal.throwIfAborted();
      const tbSizeMiB = accel.kind === 'tcg' ? (lever.tbSizeMiB ?? accel.tbSizeMiB) : undefined;
      const hv = new QemuHypervisor({
        runner: ctx.runner,
        accel: accel.kind === 'tcg' ? { kind: 'tcg', tbSizeMiB: tbSizeMiB! } : accel,
        tuning: lever.tuning,
      });
      const labels = { lever: lever.name };
      const phase = `levers ${lever.name} round ${round}`;
      let held: Awaited<ReturnType<typeof restoreHeld>>;
      try {
        held = await restoreHeld(
          ctx,
          hv,
          (i) => ({
            name: `d-l-${i}`,
            image: q.image(memoryMiB),
            memory: 'template',
            runDir: `${q.runRoot}/density/d-l-${i}`,
          }),
          template,
          n,
          phase,
        );
      } catch (e) {
        // A lever that breaks the guest (a translation cache too small to make progress) is a finding, not the end.
        if (ctx.signal.aborted) throw e;
        ctx.series('lever-restore-ms', labels).fail(e as Error);
        ctx.log(`${phase}: failed: ${(e as Error).message}`);
        continue;
      }
      try {
        await sleep(settleS * 1000);
        const pids = held.vms.map((v) => v.pid);
        const read = () => qemusMemory(pids, ram, tbSizeMiB === undefined ? undefined : tbSizeMiB * MiB);
        let parts: QemuMemory;
        if (lever.ksm) {
          const k = await withKsm(KSM_RUN, 2, 120, (restore) => ctx.defer(restore), read);
          parts = k.result;
          ctx.series('ksm-cpu-seconds', {}).add(k.outcome.ksmdCpuSeconds);
          ksmRecords.push({ round, ...k.outcome, hostSettings: k.hostSettings });
          ctx.log(
            `${phase}: ksmd ${k.outcome.fullScans} full scans in ${k.outcome.wallSeconds} s, ${k.outcome.ksmdCpuSeconds} s of CPU, pages_sharing ${k.outcome.pagesSharing}; host settings restored`,
          );
        } else {
          parts = await read();
        }
        const threads = await Promise.all(pids.map(threadsOf));
        ctx.series('lever-pss-per-vm', labels).add(parts.pssBytes / MiB / n);
        ctx.series('lever-heap', labels).add(parts.heapBytes / MiB / n);
        ctx.series('lever-tcg-cache', labels).add(parts.tcgCacheBytes / MiB / n);
        ctx.series('lever-guest-dirtied', labels).add(parts.guestDirtiedBytes / MiB / n);
        ctx.series('lever-other', labels).add(parts.otherBytes / MiB / n);
        ctx.series('lever-page-tables', labels).add(parts.pageTablesBytes / MiB / n);
        ctx.series('lever-threads', labels).add(computeStat(threads, 'mean'));
        for (const ms of held.restoreMs) ctx.series('lever-restore-ms', labels).add(ms);
        const per = (b: number) => (b / MiB / n).toFixed(1);
        ctx.log(
          `${phase}: PSS ${per(parts.pssBytes)} MiB per VM (heap ${per(parts.heapBytes)}, TCG ${per(parts.tcgCacheBytes)}, other ${per(parts.otherBytes)}, ` +
            `guest dirtied ${per(parts.guestDirtiedBytes)}, page tables ${per(parts.pageTablesBytes)}), ${threads[0]} threads, restore median ` +
            `${computeStat(held.restoreMs, 'median').toFixed(0)} ms`,
        );
      } finally {
        await held.destroyAll();
      }
    }
  }
  if (ksmRecords.length > 0) ctx.param('ksm', { settingsUsed: KSM_RUN, rounds: ksmRecords });
}

export interface HeldMapping {
  perms: string;
  name: string;
  sizeKiB: number;
  pssKiB: number;
}

/**
 * A QEMU process started with the runtime's command line, held at start (-S: no guest code runs), and its
 * anonymous mappings of at least 256 KiB of PSS, largest first: where QEMU's own memory goes before a guest runs.
 * `restore` picks the restore command line (as for -incoming) over the boot one.
 */
export async function heldQemuMappings(
  ctx: RigContext,
  q: QemuRigSetup,
  memoryMiB: number,
  restore: boolean,
): Promise<HeldMapping[]> {
  const { accel } = await q.hv.accelerator();
  const dir = `${q.runRoot}/density/held-${restore ? 'r' : 'b'}`;
  await mkdir(dir, { recursive: true });
  const argv = qemuArgv({
    binary: 'qemu-system-x86_64',
    image: q.image(memoryMiB),
    accel,
    memory: { kind: 'ram' },
    qmpSocket: `${dir}/qmp.sock`,
    serialSocket: `${dir}/serial.sock`,
    incoming: restore,
    tscKhz: 2_000_000,
  });
  if (!restore) argv.push('-S');
  const child = ctx.spawn(argv, {
    stdio: ['ignore', 'ignore', 'ignore'],
    env: qemuProcessEnv(DEFAULT_QEMU_TUNING, process.env),
  });
  try {
    const pid = child.pid!;
    await sleep(2000);
    if (child.exitCode !== null) throw new Error(`the held QEMU exited (${child.exitCode})`);
    const mappings = parseSmaps(await readFile(`/proc/${pid}/smaps`, 'utf8'), `/proc/${pid}/smaps`);
    return mappings
      .filter((m) => m.inode === 0 && m.sizeBytes !== memoryMiB * MiB && m.pssBytes >= 256 * 1024)
      .sort((a, b) => b.pssBytes - a.pssBytes)
      .map((m) => ({
        perms: m.perms,
        name: m.name || '(anonymous)',
        sizeKiB: m.sizeBytes / 1024,
        pssKiB: m.pssBytes / 1024,
      }));
  } finally {
    child.kill('SIGKILL');
  }
}
