/**
 * The cubenet of an edge network rig (policy-churn, ext-to-sandbox, egress, rate-limit). Each rig has its own prefix
 * and subnets, distinct from the core network rigs' "cnr" and from the runtime's tests, so two rigs (or a rig and a
 * test) running at once on one host never reconcile away each other's objects. The controller's teardown is deferred
 * before anything is created, and a last deferred check fails the run if the kernel still holds anything named
 * after the prefix (or the rig's own "cgx…" objects) once every cleanup has run.
 */
import type { Cubenet } from '@coppice/runtime/net';
import { runChecked, type CommandRunner } from '@coppice/runtime';
import { parseRules } from '@coppice/runtime/net';
import { DEFAULT_PIPE_BASE } from '@coppice/runtime/net';
import { parsePipeShow } from '@coppice/runtime/net';
import type { RigContext } from '../../harness/rig-context.ts';
import { kernelLeftovers } from './kernel-leftovers.ts';
import { openRigCubenet, type RigCubenetOptions, type RigNet } from './rig-cubenet.ts';

export interface EdgeNet extends RigNet {
  /** Prefix of what the rig itself creates beside cubenet (peer namespace, veths, ifb): never `<prefix>-…`. */
  own: string;
}

export const EDGE_NETS = {
  // /22: a Linux bridge holds at most 1023 ports and policy-churn needs 1 000 sandboxes on one.
  'policy-churn': { prefix: 'cgc', ipv4Subnet: '10.90.0.0/22', ipv6Subnet: 'fd90::/64', own: 'cgxc' },
  'ext-to-sandbox': { prefix: 'cgf', ipv4Subnet: '10.91.0.0/24', ipv6Subnet: 'fd91::/64', own: 'cgxf' },
  egress: { prefix: 'cge', ipv4Subnet: '10.92.0.0/24', ipv6Subnet: 'fd92::/64', own: 'cgxe' },
  'rate-limit': { prefix: 'cgr', ipv4Subnet: '10.93.0.0/24', ipv6Subnet: 'fd93::/64', own: 'cgxr' },
} as const satisfies Record<string, EdgeNet>;

/** egressInterface is given to the runtime on FreeBSD only: Linux masquerades on whichever interface routes out. */
export type EdgeCubenetOptions = RigCubenetOptions;

export async function openEdgeCubenet(
  ctx: RigContext,
  net: EdgeNet,
  options: EdgeCubenetOptions = {},
): Promise<Cubenet> {
  // Registered first, so it runs after every other cleanup of the rig.
  ctx.defer(async () => {
    const left =
      ctx.platform === 'freebsd'
        ? await edgeLeftoversFreeBsd(ctx, net, { pipes: options.rateLimits === true })
        : await edgeLeftovers(ctx.runner, net);
    if (left.length) throw new Error(`left behind after cleanup: ${left.join(', ')}`);
  });
  const { egressInterface, ...rest } = options;
  if (ctx.platform !== 'freebsd' || egressInterface === undefined) return openRigCubenet(ctx, rest, net);
  ctx.param('egressNat', `pf: nat on ${egressInterface} from the cubenet subnets -> (${egressInterface})`);
  return openRigCubenet(ctx, { ...rest, egressInterface }, net);
}

/**
 * FreeBSD: what kernelLeftovers finds of the prefix (interfaces, group members, jails, anchors under cube, the hook,
 * states), plus the rig's own `<own>-…` interfaces and jails and any NAT rule on them, and, for a cubenet opened
 * with rate limits, dummynet pipes in its range (the runtime's default pipe base + a host number of the subnet).
 */
export async function edgeLeftoversFreeBsd(
  ctx: Pick<RigContext, 'platform' | 'runner'>,
  net: EdgeNet,
  check: { pipes?: boolean } = {},
): Promise<string[]> {
  const out = await kernelLeftovers(ctx, net);
  const own = (name: string) => name.startsWith(`${net.own}-`);
  for (const name of (await runChecked(ctx.runner, ['ifconfig', '-l'])).stdout.split(/\s+/))
    if (own(name)) out.push(`interface ${name}`);
  for (const name of (await runChecked(ctx.runner, ['jls', 'name'])).stdout.split('\n').map((l) => l.trim()))
    if (own(name)) out.push(`jail ${name}`);
  for (const rule of parseRules((await runChecked(ctx.runner, ['pfctl', '-sn'])).stdout)) {
    if (rule.interface !== undefined && own(rule.interface)) out.push(`pf nat rule on ${rule.interface}`);
  }
  // kernelLeftovers lists every anchor under cube, so a rig anchor (cube/<own>-…) left behind shows there.
  if (check.pipes) {
    const hosts = 2 ** (32 - Number(net.ipv4Subnet.split('/')[1]));
    const shown = await runChecked(ctx.runner, ['dnctl', 'pipe', 'show']);
    for (const { pipe } of parsePipeShow(shown.stdout))
      if (pipe > DEFAULT_PIPE_BASE && pipe < DEFAULT_PIPE_BASE + hosts) out.push(`dummynet pipe ${pipe}`);
  }
  return out;
}

/** Kernel objects carrying the rig's names: nft tables, links and namespaces `<prefix>-…`, `<prefix>_…` (rate-limit ifbs) or `<own>-…`. */
export async function edgeLeftovers(runner: CommandRunner, net: Pick<EdgeNet, 'prefix' | 'own'>): Promise<string[]> {
  const mine = (name: string) =>
    name.startsWith(`${net.prefix}-`) || name.startsWith(`${net.prefix}_`) || name.startsWith(`${net.own}-`);
  const out: string[] = [];
  const tables = await runner.run(['nft', 'list', 'tables']);
  for (const line of tables.stdout.split('\n')) {
    const [, family, name] = line.trim().split(/\s+/);
    if (name === net.prefix) out.push(`nft table ${family} ${name}`);
  }
  const links = await runner.run(['ip', '-br', 'link']);
  for (const line of links.stdout.split('\n')) {
    const name = line.split(/[\s@]/)[0] ?? '';
    if (mine(name)) out.push(`link ${name}`);
  }
  const ns = await runner.run(['ip', 'netns', 'list']);
  for (const line of ns.stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (mine(name)) out.push(`netns ${name}`);
  }
  return out;
}
