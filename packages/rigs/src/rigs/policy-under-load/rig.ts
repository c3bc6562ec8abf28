/**
 * policy-under-load: sandbox RTT with a saturating flow on the bridge, policies idle vs mutated back to back. The same
 * cubenet calls on both platforms (nft sets on Linux, pf tables on FreeBSD); tools run in the sandboxes through
 * `ip netns exec` / `jexec`.
 */
import { evenSubsample } from '@coppice/results-schema';
import type { Cubenet } from '@coppice/runtime/net';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { filler } from '../../lib/net/policy-filler.ts';
import { cubenetPreflight, openRigCubenet } from '../../lib/net/rig-cubenet.ts';
import { sandboxExec } from '../../lib/net/sandbox-exec.ts';
import { untilListening } from '../../lib/net/until-listening.ts';
import { sockperfRtts } from '../../lib/rr/sockperf.ts';

export function preflight(ctx: PreflightContext): Promise<string[]> {
  return cubenetPreflight(ctx);
}

export async function run(ctx: RigContext): Promise<void> {
  const slices = 2; // idle, mutating, idle, mutating
  const sliceSeconds = ctx.param('sliceSeconds', ctx.quick ? 1 : 10);
  const max = ctx.param('maxSamplesPerCondition', ctx.samples);
  const net = await openRigCubenet(ctx);
  const { a, b, c, d, pairs, allowFor } = await checkoutFour(net);
  const exec = (s: Sandbox) => sandboxExec(ctx, s.endpoint);

  // The saturating flow C → D for the whole run.
  const port = 15202;
  const server = ctx.spawn([...exec(d), 'iperf3', '-s', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  ctx.defer(() => void server.kill('SIGKILL'));
  await untilListening(ctx, exec(d), port);
  // Runs until killed after the measurement (a day is "forever" here).
  const flow = ctx.spawn([...exec(c), 'iperf3', '-c', d.addresses.ipv4, '-p', String(port), '-t', '86400', '-i', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  ctx.defer(() => void flow.kill('SIGKILL'));
  let flowErrors = '';
  flow.stderr!.on('data', (x: Buffer) => (flowErrors += x.toString()));
  flow.stdout!.on('data', (x: Buffer) => (flowErrors = (flowErrors + x.toString()).slice(-2000)));
  await new Promise((r) => setTimeout(r, 1500)); // past slow start

  const rtts: Record<'idle' | 'mutating', number[]> = { idle: [], mutating: [] };
  let mutations = 0;
  let mutationErrors = 0;
  const rate = ctx.series('mutation-rate');
  for (let i = 0; i < slices * 2; i++) {
    ctx.signal.throwIfAborted();
    const condition = i % 2 ? 'mutating' : 'idle';
    ctx.progress(`rtt ${condition}`, i, slices * 2);
    if (flow.exitCode !== null) throw new Error(`the saturating iperf3 flow ended early: ${flowErrors.trim()}`);
    let stop = false;
    const before = mutations;
    const started = performance.now();
    const mutator =
      condition === 'mutating'
        ? (async () => {
            let salt = 10;
            while (!stop) {
              for (const [s, peer] of pairs) {
                if (stop) break;
                try {
                  await net.replaceAddresses(s.id, 'allowOut', allowFor(peer, salt++));
                  mutations++;
                } catch (e) {
                  mutationErrors++;
                  if (mutationErrors === 1) ctx.log(`policy mutation failed: ${(e as Error).message}`);
                }
                // Never starve the event loop (a failing call rejects without any I/O).
                await new Promise((r) => setImmediate(r));
              }
            }
          })()
        : Promise.resolve();
    try {
      const got = await sockperfRtts(
        ctx,
        { exec: exec(a), address: a.addresses.ipv4 },
        { exec: exec(b), address: b.addresses.ipv4 },
        11120 + i,
        sliceSeconds,
      );
      for (const x of got) rtts[condition].push(x); // (a spread of 10^5 arguments overflows the stack)
    } finally {
      stop = true;
      await mutator;
    }
    if (condition === 'mutating') rate.add((mutations - before) / ((performance.now() - started) / 1000));
  }
  ctx.param('mutations', mutations);
  ctx.param('mutationErrors', mutationErrors);
  for (const condition of ['idle', 'mutating'] as const) {
    const kept = evenSubsample(rtts[condition], max);
    ctx.param(`${condition}Transactions`, rtts[condition].length);
    const series = ctx.series('rtt', { condition });
    for (const x of kept) series.add(x);
  }
  ctx.progress('rtt', slices * 2, slices * 2);
}

type Sandbox = Awaited<ReturnType<Cubenet['checkout']>>;

/**
 * Four sandboxes A, B, C, D, each allowing its partner (A↔B carries the RTT, C→D the flow) among 98 filler addresses;
 * `allowFor(peer, salt)` is the 100-address list a mutation replaces a sandbox's allowOut with (new fillers, same peer).
 */
export async function checkoutFour(net: Cubenet) {
  const [a, b, c, d] = [await net.checkout(), await net.checkout(), await net.checkout(), await net.checkout()];
  const allowFor = (peer: Sandbox, salt: number) => [peer.addresses.ipv4, peer.addresses.ipv6, ...filler(98, salt)];
  const pairs = [
    [a, b],
    [b, a],
    [c, d],
    [d, c],
  ] as const;
  for (const [s, peer] of pairs) await net.setPolicy(s.id, { allowOut: allowFor(peer, 1) });
  return { a, b, c, d, pairs, allowFor };
}
