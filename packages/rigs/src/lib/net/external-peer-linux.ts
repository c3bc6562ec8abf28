/**
 * The external peer on Linux: a network namespace `<own>-peer` joined to the host by a veth pair of its own
 * (`<own>-h` on the host, `<own>-p` inside), each removal deferred before the object is created.
 */
import { writeFile } from 'node:fs/promises';
import { runChecked, type CommandRunner } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import { removeLink, removeNamespace } from './linux-teardown.ts';
import { peerNames, type ExternalPeer, type PeerLinkSpec } from './peer-link.ts';

export async function createExternalPeerLinux(ctx: RigContext, spec: PeerLinkSpec): Promise<ExternalPeer> {
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
    if (dev !== hostInterface)
      throw new Error(
        `the host routes ${address} via ${dev ?? 'nothing'}, not the peer link ${hostInterface}: refusing to send traffic`,
      );
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
