/**
 * policy-update: one-address add and 1 000-address replace on a live sandbox, against the firewall tool's spawn
 * floor (`nft` on Linux, `pfctl` on FreeBSD).
 */
import { runChecked } from '@coppice/runtime';
import { listElementChanges } from '@coppice/runtime/net';
import { builtSetElementWriter, encodeChanges, SetElementWriter } from '@coppice/runtime/net';
import type { RigContext, PreflightContext } from '../../harness/rig-context.ts';
import { firewallNoopArgv } from '../../lib/host/firewall-noop.ts';
import { abbaOrder } from '../../lib/measure/abba-order.ts';
import { since } from '../../lib/measure/timing.ts';
import { cubenetPreflight, openRigCubenet } from '../../lib/net/rig-cubenet.ts';
import { readBackAllowOut } from './read-back.ts';

export function preflight(ctx: PreflightContext): Promise<string[]> {
  return cubenetPreflight(ctx);
}

/** The k-th distinct public-looking address (198.18.0.0/15, benchmarking range), never repeating within a run. */
function v4(k: number): string {
  return `198.${18 + ((k >> 16) & 1)}.${(k >> 8) & 255}.${k & 255}`;
}
function v6(k: number): string {
  return `2001:2::${(k >> 16).toString(16)}:${(k & 0xffff).toString(16)}`;
}

/**
 * What the manifest promises of every replace, checked outside the clock: `size` distinct addresses, none of them in
 * the list it replaces (the last batch and the address added since), so the transaction really deletes the whole
 * old list and adds `size` elements (cubenet sends only the entries that differ).
 */
function assertWholeReplace(previous: readonly string[], next: readonly string[], size: number): void {
  const old = new Set(previous);
  if (new Set(next).size !== size || next.some((a) => old.has(a))) {
    throw new Error(`policy-update: a replace batch must be ${size} distinct addresses, none in the list it replaces`);
  }
}

export async function run(ctx: RigContext): Promise<void> {
  const n = ctx.samples;
  const warmup = ctx.param('warmupRounds', ctx.quick ? 2 : 10);
  const batch = 1000;
  const net = await openRigCubenet(ctx);
  const sandbox = await net.checkout({ policy: { allowOut: [v4(0)], dnsAllow: ['192.0.2.53'] } });
  ctx.param('sandbox', { id: sandbox.id, endpoint: sandbox.endpoint.kind });

  const addOne = ctx.series('update-latency', { op: 'add-one' });
  const replace = ctx.series('update-latency', { op: 'replace-1000' });
  const spawnFloor = ctx.series('firewall-spawn');
  // Linux with the helper built: the replace's own element batch applied by a helper of its own and nothing else.
  const helperBinary = ctx.platform === 'linux' ? builtSetElementWriter() : undefined;
  ctx.param(
    'replaceFloor',
    helperBinary ? 'recorded (update-latency op=replace-1000-floor)' : 'not recorded: needs Linux and the built helper',
  );
  const floorWriter = helperBinary ? new SetElementWriter(helperBinary, 'inet', net.prefix) : undefined;
  if (floorWriter) ctx.defer(() => floorWriter.close());
  const floor = floorWriter ? ctx.series('update-latency', { op: 'replace-1000-floor' }) : undefined;
  /**
   * The replace's batch (what the kernel holds for the list → `fresh`) through the floor helper, timed, then the
   * inverse batch, untimed, so the sandbox holds what cubenet believes again before the replace itself runs.
   */
  const floorRound = async (held: string[], fresh: string[], record: boolean) => {
    if (!floorWriter || !floor) return;
    const there = encodeChanges(listElementChanges(sandbox.addresses, 'allowOut', held, fresh));
    const back = encodeChanges(listElementChanges(sandbox.addresses, 'allowOut', fresh, held));
    try {
      const t0 = performance.now();
      await floorWriter.applyItems(there);
      if (record) floor.add(since(t0));
    } catch (e) {
      if (record) floor.fail(e);
      else throw e;
    }
    await floorWriter.applyItems(back);
  };
  const noop = firewallNoopArgv(ctx.platform);
  ctx.param('firewallCommand', noop.join(' '));
  let next = 1;
  let lastAdded = '';
  let lastBatch: string[] = [];
  /** One add-one and one replace-1000, recorded or not. */
  const updateRound = async (record: boolean) => {
    try {
      lastAdded = next % 2 ? v4(next) : v6(next);
      next++;
      const t0 = performance.now();
      await net.addAddresses(sandbox.id, 'allowOut', [lastAdded]);
      if (record) addOne.add(since(t0));
    } catch (e) {
      if (record) addOne.fail(e);
      else throw e;
    }
    try {
      const fresh = Array.from({ length: batch }, (_, i) => (i % 2 ? v6(next + i) : v4(next + i)));
      next += batch;
      const held = [...(lastBatch.length ? lastBatch : [v4(0)]), lastAdded];
      assertWholeReplace(held, fresh, batch);
      await floorRound(held, fresh, record);
      lastBatch = fresh;
      const t0 = performance.now();
      await net.replaceAddresses(sandbox.id, 'allowOut', lastBatch);
      if (record) replace.add(since(t0));
    } catch (e) {
      if (record) replace.fail(e);
      else throw e;
    }
  };

  for (let round = 0; round < warmup; round++) {
    ctx.signal.throwIfAborted();
    ctx.progress('warm-up', round, warmup);
    await updateRound(false);
  }
  // Updates and spawns in separate blocks, A B B A: a spawn forks this process, and for a while after it every write
  // to a page of the heap takes a copy-on-write fault (add-one measured 2.0 ms right after an nft spawn, 0.6 ms
  // without one, on a 2-vCPU VM). The runtime spawns nothing on these paths, so after each spawn block a few
  // unrecorded update rounds let the faults pass before updates are recorded again.
  const blockSize = ctx.param('blockSize', Math.min(10, n));
  const settle = ctx.param('settleRoundsAfterSpawns', ctx.quick ? 1 : 3);
  const blocks = abbaOrder(['updates', 'spawns'] as const, Math.ceil(n / blockSize));
  ctx.param('blockOrder', blocks.map((b) => (b === 'updates' ? 'U' : 'S')).join(''));
  const done = { updates: 0, spawns: 0 };
  for (const kind of blocks) {
    const count = Math.min(blockSize, n - done[kind]);
    for (let i = 0; i < count; i++) {
      ctx.signal.throwIfAborted();
      ctx.progress('rounds', Math.min(done.updates, done.spawns), n);
      if (kind === 'updates') await updateRound(true);
      else {
        try {
          const t0 = performance.now();
          await runChecked(ctx.runner, noop, { timeoutMs: 10_000 });
          spawnFloor.add(since(t0));
        } catch (e) {
          spawnFloor.fail(e);
        }
      }
      done[kind]++;
    }
    if (kind === 'spawns') for (let i = 0; i < settle; i++) await updateRound(false);
  }
  if (done.updates !== n || done.spawns !== n)
    throw new Error(
      `policy-update: block schedule recorded ${done.updates} update and ${done.spawns} spawn rounds, ${n} each expected`,
    );
  ctx.progress('verify', 0, 1);
  // The last replace holds the set; the last add was before it. Read both kinds back from the kernel.
  await net.addAddresses(sandbox.id, 'allowOut', [lastAdded]);
  await readBackAllowOut(ctx, sandbox, [lastAdded, ...lastBatch]);
  ctx.progress('verify', 1, 1);
}
