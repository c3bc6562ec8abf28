/**
 * density: N VMs restored from one checkpoint and held stopped (a prewarm pool's hot entries), with and without
 * template sharing; host memory from MemAvailable, PSS beside it; the pool controller's own memory measured as a
 * process of its own. N grows while the host's memory (with a reserve) and the time budget allow. See manifest.ts.
 */
import { GUEST_TEMPLATES_ENABLED, GUEST_TEMPLATES_OFF } from '../../lib/pools/template-gate.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { computeStat } from '@coppice/results-schema';
import type { Checkpoint, Vm } from '@coppice/runtime/hypervisor';
import { Pool } from '@coppice/runtime/pool';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { poolRigPreflight, rigPoolConfig, setupQemu, type QemuRigSetup } from '../../lib/pools/qemu-pools.ts';
import { bundleController, ControllerProcess, type ControllerLoader } from './controller-process.ts';
import {
  fileBacking,
  fileResidentBytes,
  memAvailableBytes,
  meminfo,
  MEMINFO_FIELDS,
  settledMeminfo,
  processesMemory,
  processMemory,
  type Meminfo,
  type ProcessMemory,
} from './kernel-memory.ts';
import type { ControllerArgs } from './pool-controller.ts';
import { stopReason, type LevelCost } from './limits.ts';
import { AGREEMENT_CHECK, DENSITY_N } from './manifest.ts';
import { hostDeltaAgreesWithPss } from './agreement.ts';
import { restoreHeld } from './restore-n.ts';
import { templateDensity } from './template-density.ts';
import { heldQemuMappings, LEVERS, measureLevers } from './levers.ts';
import {
  type QEMU_MEMORY_PARTS,
  qemusMemory,
  templateGuestRam,
  type GuestRam,
  type QemuMemory,
} from './qemu-memory.ts';

export function preflight(ctx: PreflightContext): Promise<string[]> {
  return poolRigPreflight(ctx);
}

const MiB = 2 ** 20;
const mib = (bytes: number) => +(bytes / MiB).toFixed(2);
const TEMPLATE = 'density';

interface Budget {
  started: number;
  seconds: number;
  reserveMiB: number;
}

export async function run(ctx: RigContext): Promise<void> {
  const q = await setupQemu(ctx);
  const memoryMiB = ctx.param('guestMemoryMiB', 256);
  const settleS = ctx.param('settleSeconds', ctx.quick ? 2 : 3);
  // Leave this much of MemAvailable untouched: the host is shared and must stay usable.
  // 1 000 VMs at ~16 MiB need ~16 GiB of a 24 GiB host: 4 GiB kept back is what leaves them room.
  const reserveMiB = ctx.param('reserveMiB', ctx.quick ? 6144 : 4096);
  // Full mode on a quiet 2-core TCG host, about 0.45 s per restore: levers ~8 min, naive ~3 min, template ladder
  // (4 090 restores with the rounds below, plus releasing and settling) ~45 min: about an hour in all.
  const budget: Budget = {
    started: performance.now(),
    seconds: ctx.param('timeBudgetSeconds', ctx.quick ? 300 : 4200),
    reserveMiB,
  };
  // Each N is restored, measured and released this many times; every round is one sample of each per-VM series.
  const rounds = ctx.param('rounds', ctx.samples);
  // Fewer rounds where one round takes minutes (the medians need at least two).
  const roundsByN: Record<string, number> = ctx.param<Record<string, number>>(
    'roundsByN',
    ctx.quick ? {} : { '200': 3, '400': 3, '1000': 2 },
  );
  const singleRestores = ctx.param('singleRestoreSamples', ctx.quick ? 3 : 10);
  const levels = ctx.param('levels', ctx.quick ? [8] : DENSITY_N.map(Number));
  const controllerN = ctx.param('tsxControllerMeasuredAtN', ctx.quick ? 8 : 50);
  ctx.param(
    'vmState',
    "stopped: each VM restored, its readiness probe answered on the serial console, then SIGSTOPped (the shape of a prewarm pool's hot entry)",
  );

  // The template checkpoint, made by this process's pool, which then gives up the pool's lock: the controller
  // process opens the same pool (as `coppice pool init` then `coppice pool warm` would).
  const openPool = () =>
    Pool.open({ config: rigPoolConfig(q, TEMPLATE, 'prewarm', memoryMiB, { hot: 0, durable: 0 }), hypervisor: q.hv });
  const setup = await openPool();
  // Registered first, so it runs last: after every controller is gone, this process reopens the pool and destroys
  // whatever it holds (also after a failure midway: reconcile adopts the VMs a killed controller left).
  ctx.defer(async () => {
    const pool = await openPool();
    try {
      await pool.destroyAll();
    } finally {
      await pool.close();
    }
  });
  const shared = await setup.init().finally(() => setup.close());
  if (!shared.memoryFile) throw new Error('the template checkpoint has no memory file: nothing to share');
  const backing = await fileBacking(shared.memoryFile);
  ctx.param('templateMemoryFile', {
    backing,
    bytes: memoryMiB * MiB,
    residentBytesBeforeFirstLevel: await fileResidentBytes(ctx.runner, shared.memoryFile),
  });

  const findings: Findings = {
    limits: {},
    largestN: {},
    restoreSecondsPerVm: {},
    pssPerVmMiBByKind: {},
    meminfoFallMiB: {},
    tcgCacheMappedMiB: {},
  };
  const { accel } = await q.hv.accelerator();
  const tbSizeBytes = accel.kind === 'tcg' ? accel.tbSizeMiB * MiB : undefined;
  const templateRam = await templateGuestRam(shared.memoryFile, memoryMiB * MiB);
  const privateRam: GuestRam = { kind: 'anonymous', bytes: memoryMiB * MiB };

  // Levers first, on a quiet host (nothing else of the rig's held yet); each lever alone, same n, same rounds.
  ctx.param('heldQemuAnonymousMappings', {
    boot: await heldQemuMappings(ctx, q, memoryMiB, false),
    restore: await heldQemuMappings(ctx, q, memoryMiB, true),
  });
  const leverN = ctx.param('leverN', ctx.quick ? 4 : 20);
  ctx.param('levers', LEVERS);
  await measureLevers(ctx, q, memoryMiB, shared, templateRam, leverN, rounds, settleS);

  // Naive first: it needs the most memory per VM and is the baseline the shared figures are judged against.
  const naive = await naiveCheckpoint(ctx, q, memoryMiB);
  await ladder(
    ctx,
    'none',
    ctx.quick ? [8] : [8, 50],
    () => rounds,
    budget,
    findings,
    async (n, round) =>
      measureNaive(ctx, q, memoryMiB, naive, n, round, settleS, (pids) => qemusMemory(pids, privateRam, tbSizeBytes)),
  );
  const args: ControllerArgs = {
    template: TEMPLATE,
    guestDir: q.guestDir,
    imageName: q.image(memoryMiB).name,
    memoryMiB,
    stateDir: q.stateDir,
    runRoot: q.runRoot,
    accel: accel.kind,
    tbSizeMiB: accel.kind === 'tcg' ? accel.tbSizeMiB : 0,
    refillConcurrency: 2,
    maxEntries: Math.max(controllerN, ...levels),
  };
  const bundle = await bundleController(ctx.tmpdir);
  const breakdown: Record<string, unknown> = { nodeIdle: await nodeBaseline(ctx) };

  // The controller as it runs today (tsx), at one N, for the comparison.
  await withController(ctx, 'tsx', args, undefined, async (ctl) => {
    breakdown['tsx-0'] = await recordController(ctx, ctl, 0, []);
    const { pids } = await warm(ctx, ctl, controllerN, 'tsx controller');
    await sleep(settleS * 1000);
    breakdown[`tsx-${controllerN}`] = await recordController(ctx, ctl, controllerN, pids);
    await ctl.drain();
  });

  // Template sharing: the bundled controller holds the VMs; each round of each N from an empty pool.
  await withController(ctx, 'bundled', args, bundle, async (ctl) => {
    breakdown['bundled-0'] = await recordController(ctx, ctl, 0, []);
    // One entry restored by the controller into an empty pool, alone: the single restore the ladder's N are judged by.
    for (let i = 0; i < singleRestores; i++) {
      const { ms } = await warm(ctx, ctl, 1, `single restore ${i + 1}/${singleRestores}`);
      ctx.series('single-restore-seconds', {}).add(ms / 1000);
      await ctl.drain();
    }
    await ladder(
      ctx,
      'template',
      levels,
      (n) => roundsByN[String(n)] ?? rounds,
      budget,
      findings,
      async (n, round) => {
        const r = await measureTemplate(ctx, ctl, shared.memoryFile!, backing, n, round, settleS, (pids) =>
          qemusMemory(pids, templateRam, tbSizeBytes),
        );
        // The controller's figures of the last round are the ones kept in run.params (its series get every round).
        breakdown[`bundled-${n}`] = await recordController(ctx, ctl, n, r.pids);
        await ctl.drain();
        return r;
      },
    );
  });

  for (const [name, value] of Object.entries(findings)) ctx.param(name, value);
  ctx.param('controllerMemoryBreakdown', breakdown);

  // The code-interpreter template at the busybox ladder's N of comparison (quick: its only level), same run.
  const templateN = ctx.param('templateN', ctx.quick ? 8 : 50);
  if (!GUEST_TEMPLATES_ENABLED) ctx.log(`code-interpreter-v1 density skipped: ${GUEST_TEMPLATES_OFF}`);
  else
    try {
      await templateDensity(
        ctx,
        q,
        'code-interpreter-v1',
        templateN,
        ctx.param('templateRounds', ctx.quick ? 1 : 2),
        settleS,
      );
    } catch (e) {
      // Recorded as the template series' failure: the busybox figures above still stand.
      if (ctx.signal.aborted) throw e;
      ctx.log(`code-interpreter-v1: ${(e as Error).message}`);
      ctx.series('template-per-vm', { template: 'code-interpreter-v1', n: String(templateN) }).fail(e);
    }
}

/** What the ladders found, stored in run.params under these names; per level, one entry per round. */
interface Findings {
  /** Per sharing: why N stopped growing. */
  limits: Record<string, string>;
  largestN: Record<string, number>;
  restoreSecondsPerVm: Record<string, number[]>;
  pssPerVmMiBByKind: Record<string, Record<string, number>[]>;
  meminfoFallMiB: Record<string, Record<string, number>[]>;
  /** The summed size of the mappings taken for TCG's translation cache in one VM (to compare with tb-size). */
  tcgCacheMappedMiB: Record<string, number[]>;
}

interface LevelResult {
  deltaMiB: number;
  /** before − after of each /proc/meminfo field (what fell; negative: grew), MiB. */
  fallMiB: Record<string, number>;
  pss: ProcessMemory;
  /** The N QEMU processes' memory by part, summed. */
  parts: QemuMemory;
  secondsPerVm: number;
  pids: number[];
}

/** The per-VM breakdown series, each from one part of QemuMemory (see qemu-memory.ts and the manifest). */
const BREAKDOWN_SERIES: Record<string, (typeof QEMU_MEMORY_PARTS)[number]> = {
  'vm-guest-dirtied': 'guestDirtiedBytes',
  'vm-template-share': 'templateShareBytes',
  'vm-tcg-cache': 'tcgCacheBytes',
  'vm-heap': 'heapBytes',
  'vm-other': 'otherBytes',
  'vm-page-tables': 'pageTablesBytes',
};

/**
 * Runs each N in turn, `rounds` times (each round restores N VMs, measures them and releases them all), while the
 * memory reserve and the time budget allow; records every round as a sample, checks that the per-VM host delta and
 * PSS agree over the rounds, and records why N stopped growing.
 */
async function ladder(
  ctx: RigContext,
  sharing: 'template' | 'none',
  levels: number[],
  roundsOf: (n: number) => number,
  budget: Budget,
  f: Findings,
  measure: (n: number, round: number) => Promise<LevelResult>,
): Promise<void> {
  let last: LevelCost | undefined;
  for (const n of levels) {
    const rounds = roundsOf(n);
    const reason = stopReason(n, rounds, last, sharing === 'none' ? 320 : 64, {
      availableMiB: (await memAvailableBytes()) / MiB,
      reserveMiB: budget.reserveMiB,
      elapsedS: (performance.now() - budget.started) / 1000,
      budgetS: budget.seconds,
    });
    if (reason) {
      f.limits[sharing] = reason;
      return;
    }
    const key = `${sharing}-${n}`;
    const labels = { n: String(n), sharing };
    const perVm: number[] = [];
    const pssPerVm: number[] = [];
    const restoreS: number[] = [];
    const overheadS: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      ctx.signal.throwIfAborted();
      const t0 = performance.now();
      const r = await measure(n, round);
      const pssMiB = r.pss.pssBytes / MiB / n;
      perVm.push(r.deltaMiB / n);
      pssPerVm.push(pssMiB);
      restoreS.push(r.secondsPerVm);
      overheadS.push(Math.max(0, (performance.now() - t0) / 1000 - r.secondsPerVm * n));
      ctx.series('host-delta', labels).add(r.deltaMiB);
      ctx.series('per-vm', labels).add(r.deltaMiB / n);
      ctx.series('pss-per-vm', labels).add(pssMiB);
      ctx.series('restore-seconds-per-vm', labels).add(r.secondsPerVm);
      for (const [metric, part] of Object.entries(BREAKDOWN_SERIES))
        ctx.series(metric, labels).add(r.parts[part] / MiB / n);
      (f.restoreSecondsPerVm[key] ??= []).push(+r.secondsPerVm.toFixed(3));
      (f.meminfoFallMiB[key] ??= []).push(r.fallMiB);
      (f.pssPerVmMiBByKind[key] ??= []).push({
        anon: mib(r.pss.pssAnonBytes / n),
        shmem: mib(r.pss.pssShmemBytes / n),
        file: mib(r.pss.pssFileBytes / n),
      });
      (f.tcgCacheMappedMiB[key] ??= []).push(mib(r.parts.tcgMappedBytes));
      const part = (name: keyof QemuMemory) => (r.parts[name] / MiB / n).toFixed(1);
      ctx.log(
        `${sharing} n=${n} round ${round}/${rounds}: host delta ${r.deltaMiB.toFixed(0)} MiB, ${(r.deltaMiB / n).toFixed(1)} MiB per VM, ` +
          `PSS ${pssMiB.toFixed(1)} MiB per VM (guest dirtied ${part('guestDirtiedBytes')}, template share ${part('templateShareBytes')}, ` +
          `TCG cache ${part('tcgCacheBytes')}, heap ${part('heapBytes')}, other ${part('otherBytes')}; page tables ${part('pageTablesBytes')}), ` +
          `${r.secondsPerVm.toFixed(2)} s per VM`,
      );
    }
    const agreement = hostDeltaAgreesWithPss(`${sharing} n=${n}`, perVm, pssPerVm);
    ctx.check(AGREEMENT_CHECK, agreement.ok, agreement.detail);
    ctx.log(`${agreement.ok ? 'check passed' : 'CHECK FAILED'} (${AGREEMENT_CHECK}): ${agreement.detail}`);
    f.largestN[sharing] = n;
    last = {
      perVmMiB: Math.max(computeStat(perVm, 'median'), computeStat(pssPerVm, 'median')),
      secondsPerVm: computeStat(restoreS, 'mean'),
      roundOverheadS: computeStat(overheadS, 'mean'),
    };
  }
  f.limits[sharing] = `all levels run (${levels.join(', ')})`;
}

async function measureTemplate(
  ctx: RigContext,
  ctl: ControllerProcess,
  memoryFile: string,
  backing: 'tmpfs' | 'page-cache',
  n: number,
  round: number,
  settleS: number,
  partsOf: (pids: number[]) => Promise<QemuMemory>,
): Promise<LevelResult> {
  const level = `template n=${n} round ${round}`;
  const before = await settledBaseline(ctx, level);
  const residentBefore = await fileResidentBytes(ctx.runner, memoryFile);
  const { ms, pids } = await warm(ctx, ctl, n, `density ${level}`);
  if (pids.length !== n) throw new Error(`the controller holds ${pids.length} VMs, asked for ${n}`);
  await sleep(settleS * 1000);
  const after = await meminfo();
  const residentAfter = await fileResidentBytes(ctx.runner, memoryFile);
  const pss = await processesMemory(pids);
  const parts = await partsOf(pids);
  // Page cache counts as available memory: pages of a disk-backed template the VMs brought in are a cost
  // MemAvailable does not show. On tmpfs they are shmem, already outside MemAvailable.
  const cacheGrowth = backing === 'page-cache' ? Math.max(0, residentAfter - residentBefore) : 0;
  ctx.series('template-resident', { n: String(n) }).add(residentAfter / MiB);
  ctx.log(
    `${level}: MemAvailable fell ${mib(before.MemAvailable - after.MemAvailable)} MiB; template file resident ${mib(residentBefore)} → ${mib(residentAfter)} MiB (${backing})`,
  );
  return {
    deltaMiB: (before.MemAvailable - after.MemAvailable + cacheGrowth) / MiB,
    fallMiB: fall(before, after),
    pss,
    parts,
    secondsPerVm: ms / 1000 / n,
    pids,
  };
}

/** The level's starting point: meminfo once the memory of whatever was destroyed before has come back. */
async function settledBaseline(ctx: RigContext, level: string): Promise<Meminfo> {
  const { meminfo: m, waitedMs } = await settledMeminfo();
  ctx.log(`${level}: baseline after ${(waitedMs / 1000).toFixed(1)} s of waiting for MemFree to settle`);
  return m;
}

function fall(before: Meminfo, after: Meminfo): Record<string, number> {
  return Object.fromEntries(MEMINFO_FIELDS.map((f) => [f, mib(before[f] - after[f])]));
}

async function warm(
  ctx: RigContext,
  ctl: ControllerProcess,
  n: number,
  phase: string,
): Promise<{ ms: number; pids: number[] }> {
  ctl.onProgress = (done) => ctx.progress(phase, done, n);
  try {
    return await ctl.warm(n);
  } finally {
    ctl.onProgress = undefined;
    ctx.progress(phase, n, n);
  }
}

async function withController(
  ctx: RigContext,
  loader: ControllerLoader,
  args: ControllerArgs,
  bundle: string | undefined,
  use: (ctl: ControllerProcess) => Promise<void>,
): Promise<void> {
  const ctl = await ControllerProcess.start(ctx, loader, args, bundle);
  ctx.defer(() => ctl.kill());
  await use(ctl);
  await ctl.close();
}

/** Records the controller's memory (with its helper processes) holding n entries; returns the breakdown. */
async function recordController(
  ctx: RigContext,
  ctl: ControllerProcess,
  n: number,
  vmPids: number[],
): Promise<Record<string, number>> {
  const helpers = await ctl.helperPids(vmPids);
  const own = await processMemory(ctl.pid);
  const all = await processesMemory([ctl.pid, ...helpers]);
  const labels = { n: String(n), loader: ctl.loader };
  ctx.series('controller-rss', labels).add(all.rssBytes / MiB);
  ctx.series('controller-hwm', labels).add(all.hwmBytes / MiB);
  ctx.series('controller-pss', labels).add(all.pssBytes / MiB);
  const usage = await ctl.usage();
  ctx.log(
    `controller (${ctl.loader}) with ${n} entries: RSS ${mib(all.rssBytes)} MiB, HWM ${mib(all.hwmBytes)} MiB, PSS ${mib(all.pssBytes)} MiB (helpers: ${helpers.length})`,
  );
  return {
    rssMiB: mib(own.rssBytes),
    pssAnonMiB: mib(own.pssAnonBytes),
    pssFileMiB: mib(own.pssFileBytes),
    helpersRssMiB: mib(all.rssBytes - own.rssBytes),
    heapUsedMiB: mib(usage.heapUsed),
    heapTotalMiB: mib(usage.heapTotal),
    externalMiB: mib(usage.external),
    arrayBuffersMiB: mib(usage.arrayBuffers),
  };
}

/** What an idle `node` with nothing loaded holds on this host: the floor under any controller written for node. */
async function nodeBaseline(ctx: RigContext): Promise<Record<string, number>> {
  const child = ctx.spawn([process.execPath, '-e', 'setInterval(() => {}, 1 << 30); console.log("up")'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`idle node exited (${code})`)));
    });
    await sleep(500);
    const m = await processMemory(child.pid!);
    return { rssMiB: mib(m.rssBytes), pssMiB: mib(m.pssBytes) };
  } finally {
    child.kill('SIGKILL');
  }
}

/**
 * The naive baseline's checkpoint: a VM booted with private RAM and checkpointed with all of its memory in the file.
 * Booted, not restored from the template: migrating a clone's whole RAM would read every page of the template
 * file and so fill the holes of the shared file, which is not the state a pool's template is in.
 */
async function naiveCheckpoint(ctx: RigContext, q: QemuRigSetup, memoryMiB: number): Promise<Checkpoint> {
  const source = await q.hv.boot(spec(q, memoryMiB, 'density-naive-src', 'private'));
  let naive: Checkpoint;
  try {
    await source.probe({ timeoutMs: 600_000 });
    naive = await source.checkpoint(`${ctx.tmpdir}/density-naive.state`);
  } finally {
    await source.destroy();
  }
  ctx.defer(() => q.hv.checkpoints.removeCheckpoint(naive));
  ctx.param('naiveCheckpointMiB', mib(naive.bytes));
  return naive;
}

function spec(q: QemuRigSetup, memoryMiB: number, name: string, memory: 'template' | 'private') {
  return { name, image: q.image(memoryMiB), memory, runDir: `${q.runRoot}/density/${name}` };
}

/** N VMs with private RAM restored by this process, each probed and SIGSTOPped like a hot entry. */
async function measureNaive(
  ctx: RigContext,
  q: QemuRigSetup,
  memoryMiB: number,
  cp: Checkpoint,
  n: number,
  round: number,
  settleS: number,
  partsOf: (pids: number[]) => Promise<QemuMemory>,
): Promise<LevelResult> {
  const level = `none n=${n} round ${round}`;
  const before = await settledBaseline(ctx, level);
  const held = await restoreHeld(
    ctx,
    q.hv,
    (i) => spec(q, memoryMiB, `d-n-${i}`, 'private'),
    cp,
    n,
    `density ${level}`,
  );
  try {
    const vms = held.vms;
    const secondsPerVm = held.wallSeconds / n;
    await sleep(settleS * 1000);
    const after = await meminfo();
    const pids = vms.map((v) => v.pid);
    const pss = await processesMemory(pids);
    const parts = await partsOf(pids);
    return {
      deltaMiB: (before.MemAvailable - after.MemAvailable) / MiB,
      fallMiB: fall(before, after),
      pss,
      parts,
      secondsPerVm,
      pids,
    };
  } finally {
    await held.destroyAll();
  }
}
