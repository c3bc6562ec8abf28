/**
 * The `direct` path of ext-to-sandbox on FreeBSD. cubenet's pf anchors block every packet leaving towards a sandbox
 * (`out on IF`) unless it carries the prefix's pass tag, which a forward's rdr-to rule or another sandbox's allowed
 * egress puts on it (render.ts). So the rig loads an anchor of its own under cubenet's root, `cube/<own>-direct`,
 * with one rule that tags what it lets in the same way, narrowed to the peer's link, the peer's and the sandbox's
 * addresses and the service port: the main ruleset's `anchor "cube/*"` evaluates it like the sandbox anchors, and a
 * new direct connection then reaches the sandbox where a forwarded one does. Its name is not `sandbox-<id>`, so
 * cubenet neither lists, reconciles nor flushes it: the rig flushes it itself (deferred as soon as it is loaded).
 */
import { runChecked, type CommandRunner } from '@coppice/runtime';
import { passTag } from '@coppice/runtime/net';
import { DEFAULT_ANCHOR_ROOT } from '@coppice/runtime/net';
import type { RigContext } from '../../harness/rig-context.ts';

export interface DirectPass {
  /** The rig's own name prefix (`<own>-direct` is the anchor). */
  own: string;
  /** cubenet's prefix: its pass tag is what the sandbox's anchor accepts on the way out to the sandbox. */
  prefix: string;
  peerInterface: string;
  peerIpv4: string;
  sandboxIpv4: string;
  port: number;
}

export function directAnchor(own: string): string {
  if (!/^[a-z][a-z0-9]{0,15}$/.test(own)) throw new Error(`bad rig name prefix ${JSON.stringify(own)}`);
  return `${DEFAULT_ANCHOR_ROOT}/${own}-direct`;
}

/** The anchor's one rule (names and addresses checked first: this text goes to pfctl). */
export function directPassRule(d: DirectPass): string {
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,14}$/.test(d.peerInterface))
    throw new Error(`bad interface name ${JSON.stringify(d.peerInterface)}`);
  for (const a of [d.peerIpv4, d.sandboxIpv4])
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) throw new Error(`bad IPv4 address ${JSON.stringify(a)}`);
  if (!Number.isInteger(d.port) || d.port < 1 || d.port > 65535) throw new Error(`bad port ${d.port}`);
  const tag = passTag(d.prefix);
  if (!/^[a-z][a-z0-9]{0,15}_pass$/.test(tag)) throw new Error(`bad cubenet prefix ${JSON.stringify(d.prefix)}`);
  return `pass in quick on ${d.peerInterface} inet proto tcp from ${d.peerIpv4} to ${d.sandboxIpv4} port ${d.port} keep state tag ${tag} label "${d.own}-direct"\n`;
}

/** Loads the anchor and defers its flush; returns the rule text. */
export async function allowDirectPf(ctx: RigContext, d: DirectPass): Promise<string> {
  const anchor = directAnchor(d.own);
  const rule = directPassRule(d);
  await runChecked(ctx.runner, ['pfctl', '-a', anchor, '-f', '-'], { input: rule });
  ctx.defer(() => removeDirectPf(ctx.runner, d.own));
  return rule.trim();
}

/** Flushes the rig's anchor (its rules and states' rule references go; pf then drops the empty anchor). */
export async function removeDirectPf(runner: CommandRunner, own: string): Promise<void> {
  await runChecked(runner, ['pfctl', '-a', directAnchor(own), '-F', 'all']);
}

/**
 * Connections the rule let in: its "State Creations" counter from `pfctl -a ANCHOR -v -s rules` (pfctl prints, under
 * each rule, `[ Evaluations: … Packets: … Bytes: … States: … ]` and `[ Inserted: uid U pid P State Creations: N ]`).
 * Exactly one rule is expected in the anchor.
 */
export function parseStateCreations(text: string): number {
  const counts = [...text.matchAll(/State Creations:\s*(\d+)/g)].map((m) => Number(m[1]));
  if (counts.length !== 1)
    throw new Error(`expected one rule with a State Creations counter in the rig's anchor, found ${counts.length}`);
  return counts[0]!;
}

export async function readDirectPassStates(runner: CommandRunner, own: string): Promise<number> {
  const listing = await runChecked(runner, ['pfctl', '-a', directAnchor(own), '-v', '-s', 'rules']);
  return parseStateCreations(listing.stdout);
}
