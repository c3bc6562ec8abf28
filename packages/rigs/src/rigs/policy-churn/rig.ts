/**
 * policy-churn: time to load one sandbox's whole policy while n sandboxes hold theirs, for n = 10, 100, 1 000 (see
 * manifest.ts for the clock). It drives cubenet's firewall backend directly (nftables on Linux, pf on FreeBSD): the
 * population is built with the backend's own rendering outside the clock (Linux: one bulk `nft -f` per level;
 * FreeBSD: one `pfctl -a ANCHOR -f -` per sandbox, pf having no transaction across anchors short of replacing the
 * main ruleset), and each sample is the backend's applySandbox, the transaction at the heart of
 * cubenet.setPolicy/checkout. No endpoints are made: a policy load does not touch them, and 1 000 taps would cost
 * minutes to make and destroy on this class of host.
 */
import { runChecked } from '@coppice/runtime';
import type { FirewallBackend } from '@coppice/runtime/net';
import { NftablesFirewall } from '@coppice/runtime/net';
import { renderSandbox, type SandboxSpec } from '@coppice/runtime/net';
import { builtSetElementWriter } from '@coppice/runtime/net';
import { PfFirewall } from '@coppice/runtime/net';
import { Ipam, parseSubnets } from '@coppice/runtime/net';
import { parseInterfaceName, parsePolicy, parseSandboxId } from '@coppice/runtime/net';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { since } from '../../lib/measure/timing.ts';
import { EDGE_NETS, edgeLeftovers } from '../../lib/net/edge-cubenet.ts';
import { kernelLeftovers } from '../../lib/net/kernel-leftovers.ts';
import { cubenetPreflight } from '../../lib/net/rig-cubenet.ts';
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
  const n = maxLevel(ctx);
  // FreeBSD: pf's own prerequisites and limits for N sandboxes (sandboxLimitReasons); no endpoints are made.
  const reasons = ctx.platform === 'linux' ? await cubenetPreflight(ctx) : [];
  return [...reasons, ...(await sandboxLimitReasons(ctx.platform, ctx.runner, n, SUBNET_HOSTS))];
}

function maxLevel(ctx: Pick<PreflightContext, 'quick'>): number {
  return Math.max(...PLAN[ctx.quick ? 'quick' : 'full'].map((l) => l.n));
}

/** The platform's backend as cubenet opens it (Linux: through the persistent `nft -i`), and how a level is bulk-loaded. */
interface ChurnFirewall {
  backend: FirewallBackend;
  describe: Record<string, string>;
  /** Loads these sandboxes' policies (setup, outside any clock). */
  populate(sandboxes: SandboxSpec[]): Promise<void>;
}

function churnFirewall(ctx: RigContext): ChurnFirewall {
  const where = { prefix: NET.prefix, ipv4: NET.ipv4Subnet, ipv6: NET.ipv6Subnet };
  if (ctx.platform === 'freebsd') {
    const backend = new PfFirewall(ctx.runner, NET.prefix, { maxSandboxes: maxLevel(ctx) });
    return {
      backend,
      describe: { backend: 'cubenet PfFirewall, an anchor per sandbox (cube/sandbox-<id>)', ...where },
      populate: async (sandboxes) => {
        for (const spec of sandboxes) await backend.applySandbox(spec);
      },
    };
  }
  // As cubenet opens it: whole-policy loads through the netlink helper when it is built, else nft text.
  const setElementWriter = builtSetElementWriter();
  const backend = new NftablesFirewall(ctx.runner, NET.prefix, {
    persistentSession: true,
    ...(setElementWriter ? { setElementWriter } : {}),
  });
  return {
    backend,
    describe: {
      backend: 'cubenet NftablesFirewall, persistent nft -i',
      loads: setElementWriter
        ? 'netlink helper native/bin/nft-set-elements'
        : 'nft text (the netlink helper is not built)',
      table: NET.prefix,
      ...where,
    },
    populate: async (sandboxes) => {
      const script = sandboxes.map((spec) => renderSandbox(NET.prefix, spec, new Map())).join('');
      await runChecked(ctx.runner, ['nft', '-f', '-'], { input: script, timeoutMs: 300_000 });
    },
  };
}

export async function run(ctx: RigContext): Promise<void> {
  const plan = ctx.param(
    'plan',
    PLAN[ctx.quick ? 'quick' : 'full'].map((l) => ({ ...l })),
  );
  const warmup = ctx.param('warmupLoadsPerLevel', ctx.quick ? 1 : 2);
  ctx.param('policyShape', {
    ...POLICY_SHAPE,
    allowInternetAccess: 'on for every other policy',
    example: churnPolicy(0),
  });
  for (const [k, v] of Object.entries(limitFacts(ctx.platform))) ctx.fact(k, v);
  if (ctx.platform === 'linux') ctx.fact('nft', (await runChecked(ctx.runner, ['nft', '--version'])).stdout.trim());

  ctx.defer(async () => {
    const left = ctx.platform === 'freebsd' ? await kernelLeftovers(ctx, NET) : await edgeLeftovers(ctx.runner, NET);
    if (left.length) throw new Error(`left behind after cleanup: ${left.join(', ')}`);
  });
  const { backend: firewall, describe, populate } = churnFirewall(ctx);
  ctx.param('firewall', describe);
  ctx.defer(async () => {
    try {
      await firewall.destroy();
    } finally {
      firewall.close?.();
    }
  });
  const ipam = new Ipam(parseSubnets(NET.ipv4Subnet, NET.ipv6Subnet));
  await firewall.destroy(); // whatever a crashed earlier run left
  await firewall.init({
    bridge: `${NET.prefix}-br`,
    ipv4Subnet: NET.ipv4Subnet,
    ipv6Subnet: NET.ipv6Subnet,
    gateway: ipam.gateway,
  });

  const sandboxes: SandboxSpec[] = [];
  let k = 0;
  for (const { n, loads } of plan) {
    ctx.signal.throwIfAborted();
    ctx.progress(`load the policies of ${n} sandboxes`, sandboxes.length, n);
    const grow = performance.now();
    const added: SandboxSpec[] = [];
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
      added.push(spec);
    }
    await populate(added);
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
    throw new Error(
      `the kernel holds ${inventory.sandboxes.length} sandbox ${ctx.platform === 'freebsd' ? 'anchors' : 'chains'}, the rig loaded ${sandboxes.length}`,
    );
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
