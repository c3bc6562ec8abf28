/**
 * Running a rig's FreeBSD path end to end against the runtime's FreeBSD host model: a harness context on a FreeBSD
 * host record whose runner is the model, the controller lock in a temporary folder (never this host's /run), and a
 * census of the model's kernel objects read from its state directly (not through the tools the rig uses).
 */
import { afterAll, beforeAll } from 'vitest';
import type { RigManifest } from '@coppice/results-schema';
import type { CommandRunner } from '@coppice/runtime';
import type { HarnessContext } from '../../src/harness/rig-context-impl.ts';
import { ToolFailure, type FreeBsdHost } from '../../../runtime/test/freebsd-host/index.ts';
import type { ToolHandler } from '../../../runtime/test/freebsd-host/host.ts';
import { cidrContains, familyOf, parseCidr, type Cidr } from '../../../runtime/test/freebsd-host/inet.ts';
import { jailState } from '../../../runtime/test/freebsd-host/jail.ts';
import { addressCidr, netState } from '../../../runtime/test/freebsd-host/netif.ts';
import { anchorPaths, pfKernel } from '../../../runtime/test/freebsd-host/pf-kernel.ts';
import { fakeHost, rigTestContext, tempDir } from '../harness/helpers.ts';

/** Points the rigs' controller lock and forwarding record at a temporary folder for this test file. */
export function useTemporaryLockDir(): void {
  let before: string | undefined;
  beforeAll(() => {
    before = process.env.COPPICE_NET_LOCK_DIR;
    process.env.COPPICE_NET_LOCK_DIR = tempDir('fbsd-lock');
  });
  afterAll(() => {
    if (before === undefined) delete process.env.COPPICE_NET_LOCK_DIR;
    else process.env.COPPICE_NET_LOCK_DIR = before;
  });
}

export function freebsdContext(runner: CommandRunner, manifest: RigManifest): HarnessContext {
  return rigTestContext(manifest, {
    runner,
    host: { ...fakeHost, platform: 'freebsd', backend: { hypervisor: 'bhyve', firewall: 'pf' } },
    tmpName: `fbsd-${manifest.id}`,
  });
}

/** Every kernel object of a cubenet prefix the model holds: interfaces, jails, pf anchors/tables, main-ruleset rules, states. */
export function modelObjects(host: FreeBsdHost, prefix: string) {
  const pf = pfKernel(host);
  const group = `${prefix}_ep`;
  const ifaces = [...netState(host).interfaces.values()]
    .filter((i) => i.name.startsWith(`${prefix}-`) || i.groups.has(group))
    .map((i) => i.name);
  const anchors = anchorPaths(pf).filter((p) => p.startsWith('cube'));
  const tables = [...pf.rulesets.entries()]
    .filter(([path]) => path !== '')
    .flatMap(([path, rs]) => [...rs.tables.keys()].map((t) => `${path}:${t}`));
  return {
    ifaces,
    jails: [...jailState(host).jails.keys()].filter((j) => j.startsWith(`${prefix}-`)),
    anchors,
    tables,
    mainRules: pf.rulesets.get('')!.filter.length,
    states: pf.states.length,
  };
}

export const NOTHING = { ifaces: [], jails: [], anchors: [], tables: [], mainRules: 0, states: 0 };

/**
 * route(8) beyond what the shared model knows (it keeps only default routes set inside a jail): `route add -inet|-inet6
 * -net CIDR GATEWAY` inside a VNET jail (the gateway must be on a link of the jail, as the kernel demands: "Network is
 * unreachable"; a second identical route is "File exists"), and `route -n get ADDRESS` on the host or inside a jail
 * (the longest match among the stack's connected subnets and added routes, then a default route set with route(8);
 * none is "route has not been found", exit 1). Every other jexec command goes to the model's own handler.
 */
export function withNetworkRoutes(host: FreeBsdHost): FreeBsdHost {
  const tools = (host as unknown as { tools: Map<string, ToolHandler> }).tools;
  const jexec = tools.get('jexec')!;
  const added = new WeakMap<object, Array<{ cidr: Cidr; gateway: string }>>();
  const routeGet = (
    vnet: string | null,
    routes: Array<{ cidr: Cidr; gateway: string }>,
    defaults: Record<string, string | undefined>,
    args: string[],
  ) => {
    if (args.length !== 3 || args[0] !== '-n' || args[1] !== 'get')
      throw new ToolFailure(`unsupported by the rig's route model: ${args.join(' ')}`);
    const address = args[2]!;
    const family = familyOf(address);
    if (!family) throw new ToolFailure(`${address}: bad address`, 68);
    const ifaces = [...netState(host).interfaces.values()].filter((i) => i.vnet === vnet);
    const onLink = (a: string) =>
      ifaces.flatMap((i) =>
        i.addresses
          .filter((x) => x.family === familyOf(a) && cidrContains(addressCidr(x), a))
          .map((x) => ({ iface: i.name, prefix: x.prefix })),
      );
    const candidates = [
      ...onLink(address),
      ...routes
        .filter((r) => cidrContains(r.cidr, address))
        .flatMap((r) => onLink(r.gateway).map((l) => ({ iface: l.iface, prefix: r.cidr.prefix }))),
    ].sort((a, b) => b.prefix - a.prefix);
    const gateway = defaults[family];
    const best = candidates[0] ?? (gateway ? onLink(gateway)[0] : undefined);
    if (!best) return { code: 1, stderr: 'route: route has not been found\n' };
    return { stdout: `   route to: ${address}\n        fib: 0\n  interface: ${best.iface}\n      flags: <UP,DONE>\n` };
  };
  host.register('route', (_h, args) => routeGet(null, [], {}, args));
  host.register('jexec', (h, args, input) => {
    const [name, command, ...rest] = args;
    const jail = name ? jailState(h).jails.get(name) : undefined;
    if (
      !jail ||
      command?.split('/').pop() !== 'route' ||
      !(rest[0] === '-n' || (rest[0] === 'add' && rest[2] === '-net'))
    )
      return jexec(h, args, input);
    if (!jail.vnet) throw new ToolFailure('writing to routing socket: Operation not permitted');
    const mine = added.get(jail) ?? [];
    added.set(jail, mine);
    if (rest[0] === '-n') return routeGet(jail.name, mine, jail.routes, rest);
    const [, af, , network, gateway, ...extra] = rest;
    const family = af === '-inet6' ? 'inet6' : af === '-inet' ? 'inet' : undefined;
    const cidr = network ? parseCidr(network) : undefined;
    if (!family || extra.length > 0) throw new ToolFailure(`unsupported by the rig's route model: ${rest.join(' ')}`);
    if (!cidr || cidr.family !== family) throw new ToolFailure(`${network ?? ''}: bad address`, 68);
    if (!gateway || familyOf(gateway) !== family) throw new ToolFailure(`${gateway ?? ''}: bad address`, 68);
    const linked = [...netState(h).interfaces.values()].some(
      (i) =>
        i.vnet === jail.name && i.addresses.some((x) => x.family === family && cidrContains(addressCidr(x), gateway)),
    );
    if (!linked) throw new ToolFailure('writing to routing socket: Network is unreachable');
    if (mine.some((r) => r.cidr.prefix === cidr.prefix && r.cidr.value === cidr.value && r.cidr.family === family))
      throw new ToolFailure('writing to routing socket: File exists');
    mine.push({ cidr, gateway });
    return { stdout: `add net ${network}: gateway ${gateway}\n` };
  });
  return host;
}
