/**
 * The cubenet of an edge network rig (policy-churn, ext-to-sandbox, egress, rate-limit). Each rig has its own prefix
 * and subnets, distinct from the core network rigs' "cnr" and from the runtime's tests, so two rigs (or a rig and a
 * test) running at once on one host never reconcile away each other's objects. The controller's teardown is deferred
 * before anything is created, and a last deferred check fails the run if the kernel still holds anything named
 * after the prefix (or the rig's own "cgx…" objects) once every cleanup has run.
 */
import type { Cubenet } from '@coppice/runtime/net/cubenet.ts';
import type { CommandRunner } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import { openRigCubenet, type RigCubenetOptions, type RigNet } from '../lifecycle/rig-cubenet.ts';

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

export async function openEdgeCubenet(
  ctx: RigContext,
  net: EdgeNet,
  options: RigCubenetOptions = {},
): Promise<Cubenet> {
  // Registered first, so it runs after every other cleanup of the rig.
  ctx.defer(async () => {
    const left = await edgeLeftovers(ctx.runner, net);
    if (left.length) throw new Error(`left behind after cleanup: ${left.join(', ')}`);
  });
  return openRigCubenet(ctx, options, net);
}

/** Kernel objects carrying the rig's names: nft tables, links and namespaces `<prefix>-…`, `<prefix>_…` (rate-limit ifbs) or `<own>-…`. */
export async function edgeLeftovers(runner: CommandRunner, net: Pick<EdgeNet, 'prefix' | 'own'>): Promise<string[]> {
  const mine = (name: string) => name.startsWith(`${net.prefix}-`) || name.startsWith(`${net.prefix}_`) || name.startsWith(`${net.own}-`);
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
