/**
 * cold-start: time from asking for a sandbox to the guest answering its readiness probe, per pool configuration
 * and concurrency, plus the bare floors (SIGCONT + probe; restore + probe) in the same run. See manifest.ts.
 */
import { GUEST_TEMPLATES_ENABLED } from '../../lib/pools/template-gate.ts';
import type { Pool } from '@coppice/runtime/pool';
import type { Checkpoint, Vm } from '@coppice/runtime/hypervisor';
import type { PreflightContext, RigContext, SeriesRecorder } from '../../harness/rig-context.ts';
import { openRigPool, poolRigPreflight, setupQemu, type QemuRigSetup } from '../../lib/pools/qemu-pools.ts';
import { COLD_START_CC } from './manifest.ts';
import { TimelineRecorder, type RefillTimeline } from './refill-timeline.ts';
import { checkoutRound, untilStopped } from './checkout-round.ts';
import { openTemplateRigCubenet, TEMPLATE_NAMES } from '../../lib/pools/template-pools.ts';
import { templateColdStart } from './templates.ts';

export function preflight(ctx: PreflightContext): Promise<string[]> {
  return poolRigPreflight(ctx);
}

type Cc = (typeof COLD_START_CC)[number];

export async function run(ctx: RigContext): Promise<void> {
  const q = await setupQemu(ctx);
  const memoryMiB = ctx.param('guestMemoryMiB', 256);
  const ccLevels: Cc[] = ctx.quick ? ['1', '10'] : [...COLD_START_CC];
  ctx.param('ccLevels', ccLevels);
  ctx.param('samplesAtCc1', ctx.samples);
  // Rounds of cc concurrent checkouts per level above 1 (each round gives cc samples): two at cc=10 for 20 samples,
  // one above (20 and 50 samples), which keeps the whole rig near 8 minutes on a 2-core host.
  const rounds = ctx.param('roundsPerCc', ctx.quick ? { '10': 1 } : { '10': 2, '20': 1, '50': 1 }) as Record<
    string,
    number
  >;

  // One pool, reconfigured between phases, so the template checkpoint (a full boot) is made once.
  const timeline = new TimelineRecorder();
  const pool = await openRigPool(ctx, q, 'cs', 'durable', memoryMiB, { hot: 0, durable: 0 }, (f) =>
    timeline.add('fill', f.tier, f.startedAt, f.endedAt, f.ok),
  );
  const t0 = performance.now();
  const base = await pool.init();
  ctx.log(`template checkpoint in ${(performance.now() - t0).toFixed(0)} ms`);
  await floors(ctx, q, memoryMiB, base);
  for (const cc of ccLevels.filter((c) => c !== '1')) await ccFloors(ctx, q, memoryMiB, base, cc, rounds[cc] ?? 1);

  // Pools first (fast), full boots last (they dominate the run time).
  await pooled(ctx, pool, 'prewarm', ccLevels, rounds, (cc) => ({ hot: cc, durable: 0 }));
  await pooled(ctx, pool, 'durable', ccLevels, rounds, (cc) => ({ hot: 0, durable: cc }));
  // Two-tier in its production shape: a hot tier in front of a cold tier big enough for the burst. The hot tier covers
  // bursts up to 20 (a checkout past it pays a whole restore, while the other restores of the burst share the CPUs:
  // see the refill timeline); cc = 50 is the burst it does not cover. Quick mode keeps it below its largest cc.
  const hotFront = ctx.param('twoTierHotSize', ctx.quick ? 2 : 20);
  ctx.param('twoTierSizes', 'hot = min(cc, twoTierHotSize), durable = cc');
  // The refill timeline of the last two-tier round at the largest cc: the hot tier is smaller than the burst there.
  const timelineCc = ctx.param('refillTimelineCc', Number(ccLevels[ccLevels.length - 1]));
  await pooled(ctx, pool, 'two-tier', ccLevels, rounds, (cc) => ({ hot: Math.min(cc, hotFront), durable: cc }), {
    cc: timelineCc,
    recorder: timeline,
  });
  await pool.reconfigure('full', { hot: 0, durable: 0 });
  await fullBoots(ctx, pool, ccLevels);
  await pool.drain();

  // The Debian templates, ready when their agent answers /health over the sandbox's address. Quick mode: cc=1 only.
  const templates = ctx.param(
    'templates',
    GUEST_TEMPLATES_ENABLED ? [...TEMPLATE_NAMES] : [],
  ) as (typeof TEMPLATE_NAMES)[number][];
  const templateCc = ctx.param('templateCcLevels', ctx.quick ? ['1'] : ['1', '10']) as Cc[];
  if (templates.length) {
    const net = await openTemplateRigCubenet(ctx);
    for (const t of templates) {
      try {
        await templateColdStart(ctx, q, net, t, templateCc, { '10': ctx.quick ? 1 : 2 });
      } catch (e) {
        // A template that cannot be made (its first boot timed out, say) is recorded as a failure of its series;
        // the busybox series and the other template's still stand.
        if (ctx.signal.aborted) throw e;
        ctx.log(`${t}: ${(e as Error).message}`);
        ctx.series('floor-sigcont-health', { template: t }).fail(e);
        ctx.series('agent-ready-latency', { template: t, config: 'prewarm', cc: '1' }).fail(e);
      }
    }
  }
}

/** Bare floors on the same host and guest: no pool, no state file, no network. */
async function floors(ctx: RigContext, q: QemuRigSetup, memoryMiB: number, base: Checkpoint): Promise<void> {
  const warmup = ctx.quick ? 1 : 3;
  const spec = (name: string) => ({
    name,
    image: q.image(memoryMiB),
    memory: 'template' as const,
    runDir: `${q.runRoot}/floor/${name}`,
  });

  // A fresh VM per sample, restored, probed once and stopped exactly as a pool fills a hot entry: the state a prewarm
  // checkout finds its VM in. The same VM resumed again and again (its caches warm from the previous samples) is
  // recorded beside it, since it is the lower of the two.
  await ctx.repeat(
    {
      phase: 'floor sigcont+probe (fresh VM)',
      warmup,
      count: ctx.samples,
      series: ctx.series('floor-sigcont-probe', { vm: 'fresh' }),
    },
    async (i) => {
      const vm = await q.hv.restore(spec(`cs-floor-h${i}`), base);
      try {
        await vm.probe({ timeoutMs: 30_000 });
        return await stoppedThenResumed(vm);
      } finally {
        await vm.destroy();
      }
    },
  );

  const vm = await q.hv.restore(spec('cs-floor-hot'), base);
  ctx.defer(() => vm.destroy());
  await vm.probe();
  await ctx.repeat(
    {
      phase: 'floor sigcont+probe (reused VM)',
      warmup,
      count: ctx.samples,
      series: ctx.series('floor-sigcont-probe', { vm: 'reused' }),
    },
    () => stoppedThenResumed(vm),
  );
  await vm.destroy();

  await ctx.repeat(
    { phase: 'floor restore+probe', warmup, count: ctx.samples, series: ctx.series('floor-restore-probe') },
    async (i) => {
      const t0 = performance.now();
      const clone = await q.hv.restore(spec(`cs-floor-r${i}`), base);
      try {
        await clone.probe({ timeoutMs: 30_000 });
        return performance.now() - t0;
      } finally {
        await clone.destroy();
      }
    },
  );
}

/**
 * The floors at concurrency cc, same host, same run: cc VMs restored, probed and stopped (untimed), then all of them
 * continued at once and probed (prewarm's floor at cc); and cc restores at once, each to its probe answer (durable's).
 * Each VM is one sample; `rounds` as the pooled configurations use at this cc.
 */
async function ccFloors(
  ctx: RigContext,
  q: QemuRigSetup,
  memoryMiB: number,
  base: Checkpoint,
  ccText: Cc,
  rounds: number,
): Promise<void> {
  const cc = Number(ccText);
  const spec = (name: string) => ({
    name,
    image: q.image(memoryMiB),
    memory: 'template' as const,
    runDir: `${q.runRoot}/floor/${name}`,
  });
  for (let r = 0; r < rounds; r++) {
    const held: Vm[] = [];
    const destroyAll = async () => {
      for (const vm of held.splice(0)) await vm.destroy();
    };
    ctx.defer(destroyAll);
    try {
      for (let i = 0; i < cc; i++) {
        ctx.signal.throwIfAborted();
        const vm = await q.hv.restore(spec(`cs-fc-h${i}`), base);
        held.push(vm);
        await vm.probe({ timeoutMs: 60_000 });
        await vm.pause();
        await untilStopped(vm.pid);
        ctx.progress(`floor cc=${cc}: stopping VMs`, i + 1, cc);
      }
      let next = 0;
      await ctx.concurrent(
        {
          phase: `floor sigcont+probe cc=${cc} round ${r + 1}/${rounds}`,
          cc,
          series: ctx.series('floor-sigcont-probe-cc', { cc: ccText }),
        },
        async () => {
          const vm = held[next++]!;
          const t0 = performance.now();
          await vm.resume();
          await vm.probe({ timeoutMs: 60_000 });
          return performance.now() - t0;
        },
      );
    } finally {
      await destroyAll();
    }
    try {
      let next = 0;
      await ctx.concurrent(
        {
          phase: `floor restore+probe cc=${cc} round ${r + 1}/${rounds}`,
          cc,
          series: ctx.series('floor-restore-probe-cc', { cc: ccText }),
        },
        async () => {
          const i = next++;
          const t0 = performance.now();
          const vm = await q.hv.restore(spec(`cs-fc-r${i}`), base);
          held.push(vm);
          await vm.probe({ timeoutMs: 120_000 });
          return performance.now() - t0;
        },
      );
    } finally {
      await destroyAll();
    }
  }
}

/** Stops the VM (untimed), then times SIGCONT until the guest's probe answer. */
async function stoppedThenResumed(vm: Vm): Promise<number> {
  await vm.pause();
  await untilStopped(vm.pid);
  const t0 = performance.now();
  await vm.resume();
  await vm.probe();
  return performance.now() - t0;
}

async function pooled(
  ctx: RigContext,
  pool: Pool,
  config: 'prewarm' | 'durable' | 'two-tier',
  ccLevels: Cc[],
  rounds: Record<string, number>,
  sizeFor: (cc: number) => { hot: number; durable: number },
  timeline?: { cc: number; recorder: TimelineRecorder },
): Promise<void> {
  await pool.reconfigure(config, sizeFor(1));
  for (const ccText of ccLevels) {
    const cc = Number(ccText);
    const series = ctx.series('ready-latency', { config, cc: ccText });
    Object.assign(pool.config.size, sizeFor(cc));
    const roundsHere = cc === 1 ? ctx.samples : (rounds[ccText] ?? 1);
    for (let r = 0; r < roundsHere; r++) {
      ctx.signal.throwIfAborted();
      await refillFully(pool);
      const record = timeline && timeline.cc === cc && r === roundsHere - 1 ? timeline.recorder : undefined;
      record?.start();
      await checkoutRound(ctx, pool, `${config} cc=${cc} round ${r + 1}/${roundsHere}`, cc, series, record);
      if (record) {
        const returnedAtMs = record.now();
        // The refills the returns set off, to the end: the timeline's second half.
        await pool.settle();
        const size = sizeFor(cc);
        const t: RefillTimeline = {
          config,
          cc,
          hotSize: size.hot,
          durableSize: size.durable,
          refillConcurrency: pool.config.refillConcurrency,
          returnedAtMs,
          events: [...record.events],
        };
        record.stop();
        ctx.param('refillTimeline', t);
        ctx.log(
          `${config} cc=${cc}: refill timeline of ${t.events.length} events recorded; refills done ${(t.events.reduce((m, e) => Math.max(m, e.endMs), 0) / 1000).toFixed(1)} s after the round started`,
        );
      }
    }
  }
  await pool.drain();
}

/** Brings every tier to its size and waits: rounds start from a full pool with no refill competing for the CPU. */
async function refillFully(pool: Pool): Promise<void> {
  await pool.warm();
}

/**
 * Full boots: no pool, every checkout boots the guest. Levels whose predicted duration (from the measured cc=1 boot
 * time and the host's cores) exceeds the budget are recorded as failures with the reason.
 */
async function fullBoots(ctx: RigContext, pool: Pool, ccLevels: Cc[]): Promise<void> {
  const budgetS = ctx.param('fullBootBudgetSeconds', ctx.quick ? 30 : 200);
  const bootSamples = ctx.param('fullBootSamplesAtCc1', ctx.quick ? 1 : 3);
  const cores = Math.max(1, ctx.host.cpu.threads || 1);
  let spentS = 0;
  let bootS = 0;
  for (const ccText of ccLevels) {
    const cc = Number(ccText);
    const series = ctx.series('ready-latency', { config: 'full', cc: ccText });
    if (cc === 1) {
      const t0 = performance.now();
      for (let i = 0; i < bootSamples; i++)
        await checkoutRound(ctx, pool, `full cc=1 boot ${i + 1}/${bootSamples}`, 1, series);
      bootS = (performance.now() - t0) / 1000 / bootSamples;
      spentS += bootS * bootSamples;
      continue;
    }
    // cc boots share `cores` CPUs: the round lasts about cc/cores single boots.
    const predictedS = (bootS * cc) / cores;
    if (spentS + predictedS > budgetS) {
      const reason = `not run: ${cc} concurrent full boots on ${cores} CPUs would take about ${predictedS.toFixed(0)} s (one boot ${bootS.toFixed(1)} s), past the ${budgetS} s budget for full boots`;
      ctx.log(`full cc=${cc}: ${reason}`);
      series.fail(new Error(reason));
      continue;
    }
    const t0 = performance.now();
    await checkoutRound(ctx, pool, `full cc=${cc}`, cc, series);
    spentS += (performance.now() - t0) / 1000;
  }
  ctx.param('fullBootSecondsSpent', +spentS.toFixed(1));
}
