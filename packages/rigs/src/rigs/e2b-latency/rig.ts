/**
 * e2b-latency: what an E2B program waits for on Coppice, by the official SDK's clock (create, first runCode, kill)
 * at several concurrency levels, against the pool checkout of the same template in the same run; then whether
 * create/kill cycles, and a gateway SIGKILLed mid-create and restarted, leave anything behind; and the gateway's
 * RSS while it holds sandboxes. See manifest.ts.
 */
import { GUEST_TEMPLATES_ENABLED, GUEST_TEMPLATES_OFF } from '../../lib/pools/template-gate.ts';
import { randomBytes } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sandbox } from '@e2b/code-interpreter';
import { createApiKey, Gateway, gatewayConfig, openRuntimeBackend, Store } from '@coppice/gateway';
import { locateTemplate } from '@coppice/runtime/hypervisor';
import { DEFAULT_SANDBOX_TB_SIZE_MIB, initAgent, openSandboxHost } from '@coppice/runtime/sandbox';
import { DEFAULT_POLICY, type SandboxPolicy } from '@coppice/runtime/net';
import type { PreflightContext, RigContext, SeriesRecorder } from '../../harness/rig-context.ts';
import { poolRigPreflight } from '../../lib/pools/qemu-pools.ts';
import { startChildGateway, stopChildGateway } from './child-gateway.ts';
import { openFloorPool } from './floor-pool.ts';
import { hostOptions, RIG_GATEWAY_LIMITS, rigLayout, TEMPLATE, type RigLayout } from './layout.ts';
import { gatewayRows, leakFree, leakReport, readPoolState } from './leaks.ts';
import { RSS_HELD } from './manifest.ts';

export async function preflight(ctx: PreflightContext): Promise<string[]> {
  if (!GUEST_TEMPLATES_ENABLED) return [GUEST_TEMPLATES_OFF];
  const reasons = await poolRigPreflight(ctx);
  try {
    await locateTemplate(ctx.runner, TEMPLATE);
  } catch (e) {
    reasons.push(
      `the ${TEMPLATE} template is not built (packages/runtime/guest/build-template.sh): ${(e as Error).message.split('\n')[0]}`,
    );
  }
  return reasons;
}

interface SdkTarget {
  apiKey: string;
  apiUrl: string;
  sandboxUrl: string;
  requestTimeoutMs: number;
}

const target = (apiKey: string, port: number): SdkTarget => {
  const url = `http://127.0.0.1:${port}`;
  return { apiKey, apiUrl: url, sandboxUrl: url, requestTimeoutMs: 300_000 };
};

/** The cubenet policy the gateway gives a create that names no network options (internet access on by default). */
const SDK_DEFAULT_POLICY: SandboxPolicy = { ...DEFAULT_POLICY, allowInternetAccess: true };

const createSandbox = (t: SdkTarget) => Sandbox.create(TEMPLATE, { ...t, timeoutMs: 3_600_000 });

/** Waits until the pool holds its configured idle entries again and nothing is checked out (refills done). */
async function poolSettled(l: RigLayout, signal: AbortSignal, timeoutMs = 600_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await readPoolState(l);
    const idle = (tier: string) => s.entries.filter((e) => e.status === 'idle' && e.tier === tier).length;
    if (idle('hot') >= l.pool.hot && idle('durable') >= l.pool.durable && s.entries.every((e) => e.status === 'idle'))
      return;
    if (Date.now() > until)
      throw new Error(
        `pool did not refill in ${timeoutMs} ms: ${JSON.stringify(s.entries.map((e) => [e.tier, e.status]))}`,
      );
    signal.throwIfAborted();
    await sleep(100);
  }
}

async function vmRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) / 1024;
}

/** Rounds of `cc` calls released together; about `samples` samples per level, at least one round. */
const roundsFor = (samples: number, cc: number) => Math.max(1, Math.round(samples / cc));

export async function run(ctx: RigContext): Promise<void> {
  const levels = ctx.param('cc', ctx.quick ? [1, 2] : [1, 10, 50]);
  const layout = rigLayout(
    ctx.tmpdir,
    `/run/coppice-e2bl-${process.pid}`,
    {
      hot: ctx.param('poolHot', ctx.quick ? 2 : 10),
      durable: ctx.param('poolDurable', ctx.quick ? 2 : 10),
      refillConcurrency: ctx.param('refillConcurrency', 1),
    },
    ctx.param('guestMemoryMiB', 512),
    ctx.param('tcgTbSizeMiB', DEFAULT_SANDBOX_TB_SIZE_MIB),
  );
  const cycles = ctx.param('leakCycles', ctx.quick ? 10 : 200);
  const held = ctx.param('rssSandboxes', ctx.quick ? 4 : 50);
  if (!RSS_HELD.includes(String(held) as (typeof RSS_HELD)[number]))
    throw new Error(`rssSandboxes ${held}: the manifest labels ${RSS_HELD.join('/')}`);
  const background = (e: Error) => ctx.log(`background: ${e.message}`);

  ctx.defer(() => rm(layout.runRoot, { recursive: true, force: true }));
  // Runs before the folder goes: every sandbox, entry, checkpoint and the cubenet.
  ctx.defer(async () => {
    const opened = await openSandboxHost({ ...hostOptions(layout), runner: ctx.runner });
    await opened.destroy();
  });

  // ---- the floor: the template's pool itself, checkout until the agent's /health answers, then returned --------
  const floor = await openFloorPool(ctx.runner, layout, background);
  let floorOpen = true;
  ctx.defer(async () => {
    if (floorOpen) await floor.close();
  });
  ctx.log(
    `warming the ${TEMPLATE} pool (hot ${layout.pool.hot}, durable ${layout.pool.durable}; the first template checkpoint boots the guest)`,
  );
  await floor.pool.warm();
  for (const cc of levels) {
    const series = ctx.series('checkout', { cc: String(cc) });
    const rounds = roundsFor(ctx.samples, cc);
    for (let r = 0; r < rounds; r++) {
      await ctx.concurrent({ phase: `checkout cc=${cc} round ${r + 1}/${rounds}`, cc, series }, async () => {
        const t0 = performance.now();
        const out = await floor.pool.checkout();
        const ms = out.readyAt - t0;
        await floor.pool.return(out.id);
        return ms;
      });
      await floor.pool.settle();
    }
  }
  // What the gateway's create does below it, without the gateway: the checkout with the policy of an SDK create
  // that names no network options, then the agent's /init with a sandbox identity.
  for (const cc of levels) {
    const series = ctx.series('host-create', { cc: String(cc) });
    const rounds = roundsFor(ctx.samples, cc);
    for (let r = 0; r < rounds; r++) {
      await ctx.concurrent({ phase: `host create cc=${cc} round ${r + 1}/${rounds}`, cc, series }, async () => {
        const sandboxId = `e2blfloor${randomBytes(6).toString('hex')}`;
        const t0 = performance.now();
        const out = await floor.pool.checkout({ policy: SDK_DEFAULT_POLICY, label: sandboxId });
        try {
          const address = out.network?.address.split('/')[0];
          if (!address) throw new Error(`checkout ${out.id} has no address`);
          await initAgent(address, { sandboxId, envVars: {}, accessToken: randomBytes(16).toString('hex') });
          return performance.now() - t0;
        } finally {
          await floor.pool.return(out.id);
        }
      });
      await floor.pool.settle();
    }
  }
  await floor.close();
  floorOpen = false;

  // ---- the SDK's clock through an in-process gateway on the same pool ------------------------------------------
  const backend = await openRuntimeBackend({
    ...hostOptions(layout),
    runner: ctx.runner,
    onBackgroundError: background,
  });
  let gateway: Gateway | undefined;
  ctx.defer(async () => {
    await gateway?.close();
    await backend.close();
  });
  gateway = await Gateway.start(
    gatewayConfig.parse({ database: layout.database, port: 0, domain: 'localhost', ...RIG_GATEWAY_LIMITS }),
    backend,
  );
  const { key } = createApiKey(gateway.store, 'rig', 'e2b-latency');
  const sdk = target(key, gateway.port);

  for (const cc of levels) {
    const labels = { cc: String(cc) };
    const phase = (name: string): SeriesRecorder => ctx.series(name, labels);
    const [create, firstRun, kill] = [phase('create'), phase('first-run'), phase('kill')];
    const rounds = roundsFor(ctx.samples, cc);
    for (let r = 0; r < rounds; r++) {
      await poolSettled(layout, ctx.signal);
      await ctx.concurrent(
        { phase: `sdk cc=${cc} round ${r + 1}/${rounds}`, cc, series: phase('end-to-end') },
        async () => {
          const t0 = performance.now();
          const sbx = await createSandbox(sdk).catch((e: unknown) => {
            create.fail(e);
            throw e;
          });
          const t1 = performance.now();
          create.add(t1 - t0);
          try {
            const result = await sbx.runCode('1+1');
            if (result.error || result.text !== '2')
              throw new Error(`runCode("1+1") gave ${JSON.stringify(result.error ?? result.text)}`);
            firstRun.add(performance.now() - t1);
          } catch (e) {
            firstRun.fail(e);
            await sbx.kill().catch(() => undefined);
            throw e;
          }
          const t2 = performance.now();
          await sbx.kill().catch((e: unknown) => {
            kill.fail(e);
            throw e;
          });
          const t3 = performance.now();
          kill.add(t3 - t2);
          return t3 - t0;
        },
      );
    }
  }

  // ---- leaks after create/kill cycles --------------------------------------------------------------------------
  for (let i = 0; i < cycles; i++) {
    ctx.signal.throwIfAborted();
    ctx.progress('create/kill cycles', i, cycles);
    const sbx = await createSandbox(sdk);
    await sbx.kill();
  }
  ctx.progress('create/kill cycles', cycles, cycles);
  await poolSettled(layout, ctx.signal);
  const afterCycles = await leakReport(layout, gatewayRows(gateway.store));
  ctx.check('no-leak-after-cycles', leakFree(afterCycles), `after ${cycles} create/kill cycles: ${afterCycles.detail}`);
  await gateway.close();
  gateway = undefined;
  await backend.close();

  // ---- the gateway as a process of its own: RSS, then a SIGKILL mid-create and a restart -----------------------
  let child = await startChildGateway(ctx, layout);
  ctx.defer(() => stopChildGateway(child));
  const childSdk = target(key, child.port);
  const readRss = async (heldNow: number) => {
    const series = ctx.series('gateway-rss', { held: String(heldNow) });
    for (let i = 0; i < 3; i++) {
      await sleep(1000);
      series.add(await vmRssMiB(child.child.pid!));
    }
  };
  await poolSettled(layout, ctx.signal);
  await readRss(0);
  const holding: Sandbox[] = [];
  for (let i = 0; i < held; i++) {
    ctx.progress('sandboxes held for RSS', i, held);
    holding.push(await createSandbox(childSdk));
  }
  await readRss(held);
  for (const s of holding) await s.kill();
  await poolSettled(layout, ctx.signal);

  const journal = join(layout.stateDir, `${TEMPLATE}.checkouts`);
  const journalSize = () =>
    stat(journal).then(
      (s) => s.size,
      () => 0,
    );
  const before = await journalSize();
  const inflight = createSandbox(childSdk).then(
    () => 'completed',
    (e: unknown) => `failed (${(e as Error).message.split('\n')[0]})`,
  );
  const until = Date.now() + 120_000;
  while ((await journalSize()) === before && Date.now() < until) await sleep(1);
  const killedMidCreate = (await journalSize()) !== before;
  child.child.kill('SIGKILL');
  await child.exited;
  const outcome = await inflight;
  child = await startChildGateway(ctx, layout);
  const reconciled = child.reconciled;
  await poolSettled(layout, ctx.signal);
  await stopChildGateway(child);
  const store = Store.open(layout.database);
  const rows = gatewayRows(store);
  store.close();
  const afterRestart = await leakReport(layout, rows);
  ctx.check(
    'no-leak-after-sigkill-restart',
    killedMidCreate && reconciled.rolledBack.length === 1 && leakFree(afterRestart),
    `SIGKILL ${killedMidCreate ? 'after the pool journalled the checkout' : 'without seeing the checkout journalled (timed out)'}; ` +
      `the SDK's create ${outcome}; the restart reconciled ${JSON.stringify(reconciled)}; then ${afterRestart.detail}`,
  );
}
