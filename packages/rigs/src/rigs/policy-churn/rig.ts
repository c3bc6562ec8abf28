/**
 * policy-churn: time to load one sandbox's whole policy while n sandboxes hold theirs, for n = 10, 100, 1 000 (see
 * manifest.ts for the clock). It drives cubenet's firewall backend directly: the population is built with the
 * backend's own renderer in one bulk transaction per level (setup, outside the clock), and each sample is the
 * backend's applySandbox, the transaction at the heart of cubenet.setPolicy/checkout. No endpoints are made: a
 * policy load does not touch them, and 1 000 taps would cost minutes to make and destroy on this class of host.
 */
import { runChecked } from '@coppice/runtime';
import { NftablesFirewall } from '@coppice/runtime/net/firewall/nftables/nftables.ts';
import { renderSandbox, type SandboxSpec } from '@coppice/runtime/net/firewall/nftables/render.ts';
import { Ipam, parseSubnets } from '@coppice/runtime/net/ipam.ts';
import { parseInterfaceName, parsePolicy, parseSandboxId } from '@coppice/runtime/net/validate.ts';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { EDGE_NETS, edgeLeftovers } from '../egress/edge-cubenet.ts';
import { cubenetPreflight, since } from '../lifecycle/rig-cubenet.ts';
import { limitFacts, sandboxLimitReasons } from './limits.ts';
import { churnPolicy, POLICY_SHAPE } from './policies.ts';

const NET = EDGE_NETS['policy-churn'];

/** Loads per level (a load costs milliseconds at every level since the layout stopped growing with n). */
export const PLAN = {
  full: [
    { n: 10, loads: 200 },
    { n: 100, loads: 200 },
    { n: 1000, loads: 200 },
  ],
  quick: [
    { n: 10, loads: 20 },
    { n: 100, loads: 10 },
  ],
} as const;

/** Host numbers 2 … 1022 of the /22. */
const SUBNET_HOSTS = 2 ** (32 - Number(NET.ipv4Subnet.split('/')[1])) - 3;

export async function preflight(ctx: PreflightContext): Promise<string[]> {
  const n = Math.max(...PLAN[ctx.quick ? 'quick' : 'full'].map((l) => l.n));
  const reasons = ctx.platform === 'linux' ? await cubenetPreflight(ctx) : ['the FreeBSD backend of cubenet is not wired into the rigs yet'];
  return [...reasons, ...(await sandboxLimitReasons(ctx.platform, ctx.runner, n, SUBNET_HOSTS))];
}

export async function run(ctx: RigContext): Promise<void> {
  const plan = ctx.param('plan', PLAN[ctx.quick ? 'quick' : 'full'].map((l) => ({ ...l })));
  const warmup = ctx.param('warmupLoadsPerLevel', ctx.quick ? 1 : 2);
  ctx.param('policyShape', { ...POLICY_SHAPE, allowInternetAccess: 'on for every other policy', example: churnPolicy(0) });
  ctx.param('firewall', { backend: 'cubenet NftablesFirewall, persistent nft -i', table: NET.prefix, ipv4: NET.ipv4Subnet, ipv6: NET.ipv6Subnet });
  for (const [k, v] of Object.entries(limitFacts(ctx.platform))) ctx.fact(k, v);
  const nft = await runChecked(ctx.runner, ['nft', '--version']);
  ctx.fact('nft', nft.stdout.trim());

  ctx.defer(async () => {
    const left = await edgeLeftovers(ctx.runner, NET);
    if (left.length) throw new Error(`left behind after cleanup: ${left.join(', ')}`);
  });
  const firewall = new NftablesFirewall(ctx.runner, NET.prefix, { persistentSession: true });
  ctx.defer(async () => {
    try {
      await firewall.destroy();
    } finally {
      firewall.close();
    }
  });
  const ipam = new Ipam(parseSubnets(NET.ipv4Subnet, NET.ipv6Subnet));
  await firewall.destroy(); // whatever a crashed earlier run left
  await firewall.init({ bridge: `${NET.prefix}-br`, ipv4Subnet: NET.ipv4Subnet, ipv6Subnet: NET.ipv6Subnet });

  const sandboxes: SandboxSpec[] = [];
  let k = 0;
  for (const { n, loads } of plan) {
    ctx.signal.throwIfAborted();
    ctx.progress(`load the policies of ${n} sandboxes`, sandboxes.length, n);
    const grow = performance.now();
    let script = '';
    while (sandboxes.length < n) {
      const i = sandboxes.length;
      const spec: SandboxSpec = {
        id: parseSandboxId(i.toString(16).padStart(12, '0')),
        addresses: ipam.addresses(ipam.allocate()),
        policy: parsePolicy(churnPolicy(k++)),
        forwards: [],
        hostInterface: parseInterfaceName(`${NET.prefix}-t${i.toString(16).padStart(8, '0')}`),
      };
      sandboxes.push(spec);
      script += renderSandbox(NET.prefix, spec, new Map());
    }
    await runChecked(ctx.runner, ['nft', '-f', '-'], { input: script, timeoutMs: 300_000 });
    ctx.param(`bulkLoadTo${n}Seconds`, Math.round(since(grow)) / 1000);

    const series = ctx.series('load-latency', { n: String(n) });
    // Spread the loads over the resident sandboxes (a stride coprime to n visits them all before repeating).
    const stride = coprimeStride(n);
    await ctx.repeat({ phase: `load-latency n=${n}`, warmup, count: loads, series }, async (j) => {
      const i = (j * stride) % n;
      const previous = sandboxes[i]!;
      const next = { ...previous, policy: parsePolicy(churnPolicy(k++)) };
      const t0 = performance.now();
      await firewall.applySandbox(next, previous);
      const ms = since(t0);
      sandboxes[i] = next;
      return ms;
    });
  }
  ctx.progress('inventory', 0, 1);
  const inventory = await firewall.inventory();
  ctx.param('chainsInKernel', inventory.sandboxes.length);
  if (inventory.sandboxes.length !== sandboxes.length) {
    throw new Error(`the kernel holds ${inventory.sandboxes.length} sandbox chains, the rig loaded ${sandboxes.length}`);
  }
  ctx.progress('inventory', 1, 1);
}

/** The smallest stride ≥ n/3 with no common factor with n. */
export function coprimeStride(n: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  let s = Math.max(1, Math.floor(n / 3));
  while (gcd(s, n) !== 1) s++;
  return s;
}
