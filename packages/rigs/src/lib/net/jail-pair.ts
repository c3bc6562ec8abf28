import { runChecked } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import { PAIR_SUBNET, type EndpointPair } from './endpoint-pair.ts';
import { destroyInterface, removeJail } from './freebsd-teardown.ts';

/**
 * Two VNET jails (`cpr-<tag>-a`, `cpr-<tag>-b`), each holding the b end of an epair whose a end is on a bridge
 * (FreeBSD's ifconfig(8), jail(8) and jexec(8): `ifconfig epair create`, `jail -c name=... vnet vnet.interface=epairNb persist`, `jexec`).
 * Each object's removal is deferred as soon as it exists (never before: a name that turns out to be taken belongs
 * to someone else), so a failure midway removes exactly what this rig made.
 */
export async function createJailPair(ctx: RigContext, tag: string): Promise<EndpointPair> {
  const run = (argv: string[]) => runChecked(ctx.runner, argv, { timeoutMs: 10_000 });
  const bridge = (await run(['ifconfig', 'bridge', 'create'])).stdout.trim();
  ctx.defer(() => destroyInterface(ctx.runner, bridge));
  const sides = { a: { v4: PAIR_SUBNET.a, v6: PAIR_SUBNET.a6 }, b: { v4: PAIR_SUBNET.b, v6: PAIR_SUBNET.b6 } };
  for (const [side, { v4, v6 }] of Object.entries(sides)) {
    const jail = `cpr-${tag}-${side}`;
    const epairA = (await run(['ifconfig', 'epair', 'create'])).stdout.trim();
    if (!/^epair\d+a$/.test(epairA)) throw new Error(`ifconfig epair create printed "${epairA}", expected epairNa`);
    const epairB = `${epairA.slice(0, -1)}b`;
    // Destroying either end destroys the pair; the jail goes first so its end is back in the host's vnet.
    ctx.defer(() => destroyInterface(ctx.runner, epairA));
    await run(['ifconfig', bridge, 'addm', epairA, 'up']);
    await run(['ifconfig', epairA, 'up']);
    await run(['jail', '-c', `name=${jail}`, 'path=/', 'vnet', `vnet.interface=${epairB}`, 'persist']);
    ctx.defer(() => removeJail(ctx.runner, jail));
    await run(['jexec', jail, 'ifconfig', epairB, 'inet', `${v4}/${PAIR_SUBNET.prefix}`, 'up']);
    await run(['jexec', jail, 'ifconfig', epairB, 'inet6', `${v6}/${PAIR_SUBNET.prefix6}`, 'alias']);
  }
  return {
    execA: ['jexec', `cpr-${tag}-a`],
    execB: ['jexec', `cpr-${tag}-b`],
    addrA: PAIR_SUBNET.a,
    addrB: PAIR_SUBNET.b,
    addr6A: PAIR_SUBNET.a6,
    addr6B: PAIR_SUBNET.b6,
  };
}
