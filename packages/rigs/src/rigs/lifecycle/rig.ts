/**
 * lifecycle: checkout and release latency of sandbox networks, then release-all and a leak audit (see manifest.ts).
 */
import { createServer, type Server } from 'node:net';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { since } from '../../lib/measure/timing.ts';
import { kernelLeftovers } from '../../lib/net/kernel-leftovers.ts';
import { CORE_RIG_NET, cubenetPreflight, openRigCubenet, RIG_PREFIX } from '../../lib/net/rig-cubenet.ts';
import { sandboxExec } from '../../lib/net/sandbox-exec.ts';

const HOST_PORT = 18099;

export function preflight(ctx: PreflightContext): Promise<string[]> {
  return cubenetPreflight(ctx);
}

export async function run(ctx: RigContext): Promise<void> {
  const n = ctx.samples;
  const net = await openRigCubenet(ctx, { maxIdle: n });
  const gateway = net.ipam.gateway;

  // A listener on the gateway so each sandbox can make one real connection (a conntrack state to kill).
  const server: Server = createServer((s) => s.end());
  ctx.defer(() => new Promise<void>((r) => server.close(() => r())));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(HOST_PORT, gateway.ipv4, resolve));

  ctx.progress('warm endpoints', 0, n);
  await net.warm('isolated', n);
  ctx.param('warmEndpoints', n);
  const policy = {
    allowOut: [`${gateway.ipv4}`, '192.0.2.0/24', '2001:db8::/32'],
    denyOut: ['198.51.100.7'],
    dnsAllow: ['192.0.2.53'],
  };
  ctx.param('policy', policy);

  const checkout = ctx.series('checkout');
  const release = ctx.series('release');
  const ids: string[] = [];
  const unreachable: string[] = [];
  const sandboxes: Array<[string, string[]]> = [];
  for (let i = 0; i < n; i++) {
    ctx.signal.throwIfAborted();
    ctx.progress('checkout', i, n);
    try {
      const t0 = performance.now();
      const s = await net.checkout({ policy });
      checkout.add(since(t0));
      ids.push(s.id);
      sandboxes.push([s.id, sandboxExec(ctx, s.endpoint)]);
    } catch (e) {
      checkout.fail(e);
    }
  }
  // Outside the clocks, after every checkout: one real connection per sandbox, so release has a state to kill. Not
  // a checkout failure if it does not get through (the check's detail counts them); a loaded host can stall a
  // process for seconds. (Done between checkouts, each `ip netns exec` process and its teardown fell into the next
  // checkout's clock.)
  for (const [i, [id, exec]] of sandboxes.entries()) {
    ctx.progress('connect', i, sandboxes.length);
    const connect = await ctx.runner
      .run([...exec, ...connectArgv(ctx, gateway.ipv4)], { timeoutMs: 20_000 })
      .catch((e: Error) => ({ code: -1, stderr: e.message }));
    if (connect.code !== 0) unreachable.push(`${id}: ${connect.stderr.trim()}`);
  }
  // The kernel finishes tearing down those processes (their mount namespaces, their memory) after they exit: let it,
  // before the release clocks run.
  const pause = ctx.param('pauseBeforeReleasesMs', 1000);
  await new Promise((r) => setTimeout(r, pause));
  const states = (await net.audit()).kernel.states;
  ctx.param('statesBeforeRelease', states);
  ctx.param('connectionsThatFailed', unreachable);
  for (let i = 0; i < ids.length; i++) {
    ctx.signal.throwIfAborted();
    ctx.progress('release', i, ids.length);
    try {
      const t0 = performance.now();
      await net.release(ids[i]);
      release.add(since(t0));
    } catch (e) {
      release.fail(e);
    }
  }
  ctx.progress('audit', 0, 1);
  await net.settle();
  const audit = await net.audit();
  const l = audit.leaks;
  const leakedStates = l.states.length;
  const leakedChains = l.chains.length + l.sets.length + l.forwards.length + l.bindings.length;
  const leakedEndpoints = l.endpoints.length;
  const total = leakedStates + leakedChains + leakedEndpoints;
  // After release-all the runtime believes in no sandbox; any sandbox-owned object the kernel still holds leaked.
  const remainingChains = audit.kernel.chains;
  await net.teardown();
  const left = await kernelLeftovers(ctx, CORE_RIG_NET);
  ctx.check(
    'leaked-after-release-all',
    total === 0 && remainingChains === 0 && left.length === 0 && audit.ok,
    `${total} objects leaked after releasing ${ids.length} sandboxes: states ${leakedStates}, ` +
      `${ctx.platform === 'freebsd' ? 'anchors with their tables' : 'chains with their sets'}, forwards and bindings ${leakedChains + remainingChains}, endpoints ${leakedEndpoints}` +
      ` (states before release: ${states}, connections that failed to open: ${unreachable.length}; after teardown, kernel objects of cubenet ${RIG_PREFIX}: ${left.length ? left.join(', ') : 'none'})`,
  );
  ctx.progress('audit', 1, 1);
}

/**
 * One TCP connection from inside a sandbox to the host's listener, opened and closed (argv after the sandbox's exec
 * prefix). Linux: bash's /dev/tcp; FreeBSD has no bash in base, and nc(1) -z connects and closes.
 */
function connectArgv(ctx: PreflightContext, gateway: string): string[] {
  return ctx.platform === 'freebsd'
    ? ['nc', '-z', '-w', '5', gateway, String(HOST_PORT)]
    : ['bash', '-c', `exec 3<>/dev/tcp/${gateway}/${HOST_PORT}`];
}
