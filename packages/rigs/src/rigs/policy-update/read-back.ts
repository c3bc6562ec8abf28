/**
 * The end-of-run check of policy-update: the addresses the last add and the last replace put in the sandbox's
 * allowOut list, read back from the kernel (not from cubenet's state). Linux: the shared nft sets keyed
 * `sandbox address . destination` (allow4 / allow6 for exact addresses), the last added and the first and last of
 * the batch by `nft get element`. FreeBSD: the whole allowOut table of the sandbox's anchor
 * (`pfctl -a cube/sandbox-<id> -t sandbox_allow -T show`), which must hold exactly the batch and the added address.
 */
import { runChecked } from '@coppice/runtime';
import { parseTableShow } from '@coppice/runtime/net';
import { anchorPath, DEFAULT_ANCHOR_ROOT, TABLES } from '@coppice/runtime/net';
import type { Sandbox } from '@coppice/runtime/net';
import { parseCidr } from '@coppice/runtime/net';
import type { RigContext } from '../../harness/rig-context.ts';
import { RIG_PREFIX } from '../../lib/net/rig-cubenet.ts';

/** `expected[0]` is the address added last, the rest the batch that replaced the list before it. */
export async function readBackAllowOut(
  ctx: RigContext,
  sandbox: Pick<Sandbox, 'id' | 'addresses'>,
  expected: readonly string[],
): Promise<void> {
  if (ctx.platform === 'freebsd') return readBackPf(ctx, sandbox.id, expected);
  const batch = expected.slice(1);
  for (const address of [expected[0]!, batch[0]!, batch[batch.length - 1]!]) {
    const v6 = address.includes(':');
    const key = `${v6 ? sandbox.addresses.ipv6 : sandbox.addresses.ipv4} . ${address}`;
    await runChecked(ctx.runner, ['nft', 'get', 'element', 'inet', RIG_PREFIX, v6 ? 'allow6' : 'allow4', `{ ${key} }`]);
  }
}

async function readBackPf(ctx: RigContext, id: Sandbox['id'], expected: readonly string[]): Promise<void> {
  const argv = ['pfctl', '-a', anchorPath(DEFAULT_ANCHOR_ROOT, id), '-t', TABLES.allowOut, '-T', 'show'];
  const held = new Set(parseTableShow((await runChecked(ctx.runner, argv)).stdout).map((e) => parseCidr(e).text));
  const wanted = new Set(expected.map((e) => parseCidr(e).text));
  const missing = [...wanted].filter((e) => !held.has(e));
  const extra = [...held].filter((e) => !wanted.has(e));
  ctx.param('readBack', { command: argv.join(' '), entries: held.size });
  if (missing.length || extra.length) {
    throw new Error(
      `${argv.join(' ')} holds ${held.size} entries, ${wanted.size} expected: missing ${missing.length} (${missing.slice(0, 3).join(', ')}), ` +
        `unexpected ${extra.length} (${extra.slice(0, 3).join(', ')})`,
    );
  }
}
