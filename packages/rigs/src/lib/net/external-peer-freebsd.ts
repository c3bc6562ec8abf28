/**
 * The external peer on FreeBSD: a VNET jail `<own>-peer` standing in for a LAN client or server, joined to the host
 * by an epair of its own (not on the sandbox bridge) whose ends are renamed `<own>-h` (host) and `<own>-p` (jail),
 * with the same /30 and /64 as on Linux and, if asked, routes inside the jail to subnets via the host. Made and
 * removed the way createJailPair (jail-pair.ts) does it: each object's removal is deferred as soon as it exists (never
 * before: a name that turns out to be taken belongs to someone else), so a failure midway removes exactly what this
 * made. Before returning, the host's route to each peer address is checked to go out through `<own>-h`.
 */
import { runChecked, type CommandRunner } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import { destroyInterface, removeJail } from './freebsd-teardown.ts';
import { peerNames, type ExternalPeer, type PeerLinkSpec } from './peer-link.ts';

export async function createExternalPeerFreeBsd(ctx: RigContext, spec: PeerLinkSpec): Promise<ExternalPeer> {
  const run = (argv: string[]) => runChecked(ctx.runner, argv, { timeoutMs: 10_000 });
  const { namespace: jail, hostInterface, peerInterface } = peerNames(spec.own);
  const inJail = (argv: string[]) => run(['jexec', jail, ...argv]);

  const epairA = (await run(['ifconfig', 'epair', 'create'])).stdout.trim();
  if (!/^epair\d+a$/.test(epairA)) throw new Error(`ifconfig epair create printed "${epairA}", expected epairNa`);
  // Destroying either end destroys the pair, wherever the other end is; the jail goes first (deferred later), so
  // its end is back in the host's vnet by then. The closure follows the rename.
  let hostEnd = epairA;
  ctx.defer(() => destroyInterface(ctx.runner, hostEnd));
  await run(['ifconfig', epairA, 'name', hostInterface]);
  hostEnd = hostInterface;
  await run(['ifconfig', `${epairA.slice(0, -1)}b`, 'name', peerInterface]);
  await run(['jail', '-c', `name=${jail}`, 'path=/', 'vnet', `vnet.interface=${peerInterface}`, 'persist']);
  ctx.defer(() => removeJail(ctx.runner, jail));

  await run(['ifconfig', hostInterface, 'inet', `${spec.ipv4.host}/${spec.ipv4.prefixLength}`]);
  await run(['ifconfig', hostInterface, 'inet6', `${spec.ipv6.host}/${spec.ipv6.prefixLength}`, 'alias']);
  await run(['ifconfig', hostInterface, 'up']);
  await inJail(['ifconfig', peerInterface, 'inet', `${spec.ipv4.peer}/${spec.ipv4.prefixLength}`, 'up']);
  await inJail(['ifconfig', peerInterface, 'inet6', `${spec.ipv6.peer}/${spec.ipv6.prefixLength}`, 'alias']);
  for (const subnet of spec.routes?.ipv4 ?? []) await inJail(['route', 'add', '-inet', '-net', subnet, spec.ipv4.host]);
  for (const subnet of spec.routes?.ipv6 ?? [])
    await inJail(['route', 'add', '-inet6', '-net', subnet, spec.ipv6.host]);
  // FreeBSD runs duplicate address detection on new IPv6 addresses (about a second); wait until neither end's is tentative.
  await untilNotTentative(ctx, ['ifconfig', hostInterface]);
  await untilNotTentative(ctx, ['jexec', jail, 'ifconfig', peerInterface]);

  for (const address of [spec.ipv4.peer, spec.ipv6.peer]) {
    const dev = await routeInterfaceFreeBsd(ctx.runner, [], address);
    if (dev !== hostInterface)
      throw new Error(
        `the host routes ${address} via ${dev ?? 'nothing'}, not the peer link ${hostInterface}: refusing to send traffic`,
      );
  }
  return {
    namespace: jail,
    hostInterface,
    exec: ['jexec', jail],
    ipv4: { host: spec.ipv4.host, peer: spec.ipv4.peer },
    ipv6: { host: spec.ipv6.host, peer: spec.ipv6.peer },
  };
}

/**
 * The interface `route -n get ADDRESS` names (run on the host, or inside a jail with `exec` = jexec JAIL), or
 * undefined when there is no route ("route has not been found", exit 1).
 */
export async function routeInterfaceFreeBsd(
  runner: CommandRunner,
  exec: string[],
  address: string,
): Promise<string | undefined> {
  const r = await runner.run([...exec, 'route', '-n', 'get', address]);
  if (r.code !== 0) return undefined;
  return parseRouteGetFreeBsd(r.stdout);
}

/** The "interface:" line of route(8)'s `get` output. */
export function parseRouteGetFreeBsd(text: string): string | undefined {
  return /^\s*interface:\s*(\S+)\s*$/m.exec(text)?.[1];
}

async function untilNotTentative(ctx: RigContext, argv: string[]): Promise<void> {
  for (let i = 0; i < 100; i++) {
    ctx.signal.throwIfAborted();
    const shown = await runChecked(ctx.runner, argv);
    if (!/\binet6 .*\btentative\b/.test(shown.stdout)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${argv.join(' ')}: an IPv6 address is still tentative after 5 s`);
}
