/**
 * The "external" peer of the edge rigs: a network namespace standing in for a client or server on the LAN, joined to
 * the host by a veth pair of its own (not on the sandbox bridge), with a /30 and a /64 on the link. Traffic to it
 * never leaves the host: before returning, the host's route to each peer address is checked to go out through the
 * peer's link. Every object's removal is deferred before it is created. On FreeBSD the peer is a VNET jail on an
 * epair of its own (external-peer-freebsd.ts), with the same names, addresses and routes.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { runChecked, type CommandRunner } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import { createExternalPeerFreeBsd } from './external-peer-freebsd.ts';

export interface PeerLinkSpec {
  /** Names: namespace (FreeBSD: jail) `<own>-peer`, host end `<own>-h`, peer end `<own>-p`. */
  own: string;
  ipv4: { host: string; peer: string; prefixLength: number };
  ipv6: { host: string; peer: string; prefixLength: number };
  /** Subnets the peer routes via the host (e.g. the sandbox subnet, for a directly routed path). None by default. */
  routes?: { ipv4?: string[]; ipv6?: string[] };
}

export interface ExternalPeer {
  /** The peer's network namespace (Linux) or VNET jail (FreeBSD). */
  namespace: string;
  /** The host end of the peer's link. */
  hostInterface: string;
  /** argv prefix that runs a command inside the peer. */
  exec: string[];
  ipv4: { host: string; peer: string };
  ipv6: { host: string; peer: string };
}

export function peerNames(own: string): { namespace: string; hostInterface: string; peerInterface: string } {
  return { namespace: `${own}-peer`, hostInterface: `${own}-h`, peerInterface: `${own}-p` };
}

export function createExternalPeer(ctx: RigContext, spec: PeerLinkSpec): Promise<ExternalPeer> {
  return ctx.platform === 'freebsd' ? createExternalPeerFreeBsd(ctx, spec) : createExternalPeerLinux(ctx, spec);
}

async function createExternalPeerLinux(ctx: RigContext, spec: PeerLinkSpec): Promise<ExternalPeer> {
  const run = (argv: string[]) => runChecked(ctx.runner, argv, { timeoutMs: 10_000 });
  const { namespace, hostInterface, peerInterface } = peerNames(spec.own);
  const inPeer = (argv: string[]) => run(['ip', '-n', namespace, ...argv]);

  ctx.defer(() => removeNamespace(ctx.runner, namespace));
  ctx.defer(() => removeLink(ctx.runner, hostInterface));
  await run(['ip', 'netns', 'add', namespace]);
  await run(['ip', 'link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', peerInterface, 'netns', namespace]);
  // No duplicate address detection on a link the rig owns both ends of: addresses are usable at once.
  await writeFile(`/proc/sys/net/ipv6/conf/${hostInterface}/accept_dad`, '0\n');
  await run(['ip', 'netns', 'exec', namespace, 'sysctl', '-qw', `net.ipv6.conf.${peerInterface}.accept_dad=0`]);
  await run(['ip', 'addr', 'add', `${spec.ipv4.host}/${spec.ipv4.prefixLength}`, 'dev', hostInterface]);
  await run(['ip', 'addr', 'add', `${spec.ipv6.host}/${spec.ipv6.prefixLength}`, 'dev', hostInterface, 'nodad']);
  await run(['ip', 'link', 'set', hostInterface, 'up']);
  await inPeer(['link', 'set', 'lo', 'up']);
  await inPeer(['addr', 'add', `${spec.ipv4.peer}/${spec.ipv4.prefixLength}`, 'dev', peerInterface]);
  await inPeer(['addr', 'add', `${spec.ipv6.peer}/${spec.ipv6.prefixLength}`, 'dev', peerInterface, 'nodad']);
  await inPeer(['link', 'set', peerInterface, 'up']);
  for (const subnet of spec.routes?.ipv4 ?? []) await inPeer(['route', 'add', subnet, 'via', spec.ipv4.host]);
  for (const subnet of spec.routes?.ipv6 ?? []) await inPeer(['-6', 'route', 'add', subnet, 'via', spec.ipv6.host]);

  for (const address of [spec.ipv4.peer, spec.ipv6.peer]) {
    const dev = await routeDevice(ctx.runner, address);
    if (dev !== hostInterface) throw new Error(`the host routes ${address} via ${dev ?? 'nothing'}, not the peer link ${hostInterface}: refusing to send traffic`);
  }
  return {
    namespace,
    hostInterface,
    exec: ['ip', 'netns', 'exec', namespace],
    ipv4: { host: spec.ipv4.host, peer: spec.ipv4.peer },
    ipv6: { host: spec.ipv6.host, peer: spec.ipv6.peer },
  };
}

/** The interface the host's routing table sends `address` out of (`ip -j route get`). */
export async function routeDevice(runner: CommandRunner, address: string): Promise<string | undefined> {
  const r = await runner.run(['ip', '-j', 'route', 'get', address]);
  if (r.code !== 0) return undefined;
  return parseRouteGet(r.stdout);
}

export function parseRouteGet(json: string): string | undefined {
  const routes = JSON.parse(json) as Array<{ dev?: string; type?: string }>;
  const first = routes[0];
  return first && (first.type === undefined || first.type === 'unicast') ? first.dev : undefined;
}

async function removeNamespace(runner: CommandRunner, name: string): Promise<void> {
  const names = await readdir('/run/netns').catch(() => [] as string[]);
  if (!names.includes(name)) return;
  await runChecked(runner, ['ip', 'netns', 'del', name]);
}

async function removeLink(runner: CommandRunner, name: string): Promise<void> {
  const show = await runner.run(['ip', 'link', 'show', 'dev', name]);
  if (show.code !== 0) return; // already gone (or never made)
  await runChecked(runner, ['ip', 'link', 'del', name]);
}
