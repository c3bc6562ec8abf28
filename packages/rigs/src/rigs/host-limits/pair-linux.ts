import { runChecked, type CommandRunner } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import { PAIR_SUBNET, type EndpointPair } from './endpoint-pair.ts';

/**
 * Two network namespaces, each with a veth whose host end is on a bridge. Each object's removal is deferred as soon
 * as it exists (never before: a name that turns out to be taken belongs to someone else), so a failure midway
 * removes exactly what this rig made.
 */
export async function createNamespacePair(ctx: RigContext, tag: string): Promise<EndpointPair> {
  const run = (argv: string[]) => runChecked(ctx.runner, argv, { timeoutMs: 10_000 });
  const bridge = `cpr-${tag}-br`;
  const sides = { a: { v4: PAIR_SUBNET.a, v6: PAIR_SUBNET.a6 }, b: { v4: PAIR_SUBNET.b, v6: PAIR_SUBNET.b6 } };
  await run(['ip', 'link', 'add', bridge, 'type', 'bridge']);
  ctx.defer(() => removeLink(ctx.runner, bridge));
  await run(['ip', 'link', 'set', bridge, 'up']);
  for (const [side, { v4, v6 }] of Object.entries(sides)) {
    const ns = `cpr-${tag}-${side}`;
    const hostEnd = `cpr-${tag}-${side}`;
    const nsEnd = `cpr-${tag}-${side}p`;
    await run(['ip', 'netns', 'add', ns]);
    ctx.defer(() => removeNamespace(ctx.runner, ns));
    await run(['ip', 'link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd]);
    // Deleting the host end destroys the pair, wherever the other end is.
    ctx.defer(() => removeLink(ctx.runner, hostEnd));
    await run(['ip', 'link', 'set', nsEnd, 'netns', ns]);
    await run(['ip', 'link', 'set', hostEnd, 'master', bridge, 'up']);
    await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    await run(['ip', '-n', ns, 'addr', 'add', `${v4}/${PAIR_SUBNET.prefix}`, 'dev', nsEnd]);
    // nodad: usable at once, instead of tentative (unbindable) for the second or so duplicate detection takes.
    await run(['ip', '-n', ns, 'addr', 'add', `${v6}/${PAIR_SUBNET.prefix6}`, 'dev', nsEnd, 'nodad']);
    await run(['ip', '-n', ns, 'link', 'set', nsEnd, 'up']);
  }
  return {
    execA: ['ip', 'netns', 'exec', `cpr-${tag}-a`],
    execB: ['ip', 'netns', 'exec', `cpr-${tag}-b`],
    addrA: PAIR_SUBNET.a,
    addrB: PAIR_SUBNET.b,
    addr6A: PAIR_SUBNET.a6,
    addr6B: PAIR_SUBNET.b6,
  };
}

async function removeNamespace(runner: CommandRunner, ns: string): Promise<void> {
  const list = await runChecked(runner, ['ip', 'netns', 'list']);
  if (!list.stdout.split('\n').some((l) => l.split(' ')[0] === ns)) return;
  await runChecked(runner, ['ip', 'netns', 'del', ns]);
}

async function removeLink(runner: CommandRunner, name: string): Promise<void> {
  const show = await runner.run(['ip', 'link', 'show', 'dev', name]);
  if (show.code !== 0) return; // already gone (or never made)
  await runChecked(runner, ['ip', 'link', 'del', name]);
}

/** Waits until a TCP port listens inside a namespace (sockperf server started). */
export async function untilListeningLinux(ctx: RigContext, exec: string[], port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    ctx.signal.throwIfAborted();
    const ss = await ctx.runner.run([...exec, 'ss', '-Htln', `sport = :${port}`]);
    if (ss.code === 0 && ss.stdout.trim().length > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on TCP port ${port} after 5 s`);
}
