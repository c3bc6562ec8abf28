import { runChecked } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import { PAIR_SUBNET, type EndpointPair } from './endpoint-pair.ts';
import { removeLink, removeNamespace } from './linux-teardown.ts';

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
