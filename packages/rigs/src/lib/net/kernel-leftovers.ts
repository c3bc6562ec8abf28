/**
 * What a rig's cubenet left in the kernel once it is torn down, read from the kernel itself (not from cubenet's
 * own audit, which is what is being checked). Linux: nft tables named after the prefix, links and network namespaces
 * `<prefix>-…`. FreeBSD: interfaces `<prefix>-…` (the bridge, epairs; a jail-side end returns to the host when its
 * jail goes) and members of the prefix's interface group (taps keep their kernel names), jails `<prefix>-…`,
 * sandbox anchors under cubenet's pf anchor root and the tables in them, the prefix's hook when it is all of pf's main
 * ruleset (cubenet loaded it; beside an operator's rules it is theirs), and pf states with an end in the rig's subnets.
 */
import { runChecked } from '@coppice/runtime';
import { endpointGroup } from '@coppice/runtime/net';
import { parseAnchors, parseStates, parseTableNames } from '@coppice/runtime/net';
import { DEFAULT_ANCHOR_ROOT } from '@coppice/runtime/net';
import { inSubnet } from '@coppice/runtime/net';
import type { PreflightContext } from '../../harness/rig-context.ts';
import type { RigNet } from './rig-cubenet.ts';

export async function kernelLeftovers(
  ctx: Pick<PreflightContext, 'platform' | 'runner'>,
  net: RigNet,
): Promise<string[]> {
  return ctx.platform === 'freebsd' ? freebsdLeftovers(ctx.runner, net) : linuxLeftovers(ctx.runner, net.prefix);
}

async function linuxLeftovers(runner: PreflightContext['runner'], prefix: string): Promise<string[]> {
  const out: string[] = [];
  const tables = await runner.run(['nft', 'list', 'tables']);
  for (const line of tables.stdout.split('\n')) if (line.trim().endsWith(` ${prefix}`)) out.push(line.trim());
  const links = await runner.run(['ip', '-br', 'link']);
  for (const line of links.stdout.split('\n')) {
    const name = line.split(/[\s@]/)[0] ?? '';
    if (name.startsWith(`${prefix}-`)) out.push(name);
  }
  const ns = await runner.run(['ip', 'netns', 'list']);
  for (const line of ns.stdout.split('\n')) if (line.startsWith(`${prefix}-`)) out.push(`netns ${line.split(' ')[0]}`);
  return out;
}

async function freebsdLeftovers(runner: PreflightContext['runner'], net: RigNet): Promise<string[]> {
  const out: string[] = [];
  const mine = (name: string) => name.startsWith(`${net.prefix}-`);
  const group = endpointGroup(net.prefix);
  const ifaces = (await runChecked(runner, ['ifconfig', '-l'])).stdout.split(/\s+/).filter(Boolean);
  for (const name of ifaces) if (mine(name)) out.push(`interface ${name}`);
  const members = (await runChecked(runner, ['ifconfig', '-g', group])).stdout.split(/\s+/).filter(Boolean);
  for (const name of members) if (!mine(name)) out.push(`interface ${name} (group ${group})`);
  const jails = await runChecked(runner, ['jls', 'name']);
  for (const name of jails.stdout.split('\n').map((l) => l.trim())) if (mine(name)) out.push(`jail ${name}`);
  // Sandbox anchors carry no prefix (cube/sandbox-<id>); the teardown flushes every one, so any left is a leak.
  const anchors = await runner.run(['pfctl', '-a', DEFAULT_ANCHOR_ROOT, '-sA']);
  if (anchors.code === 0) {
    for (const path of parseAnchors(anchors.stdout)) {
      const tables = parseTableNames((await runChecked(runner, ['pfctl', '-a', path, '-sT'])).stdout);
      out.push(`pf anchor ${path}${tables.length ? ` (tables ${tables.join(', ')})` : ''}`);
    }
  } else if (!/not found|does not exist/.test(anchors.stderr)) {
    throw new Error(`pfctl -a ${DEFAULT_ANCHOR_ROOT} -sA: ${anchors.stderr.trim()}`);
  }
  // The hook is cubenet's to remove only when it is the whole main ruleset (it loaded it so); hook lines in an
  // operator's pf.conf, beside other rules, stay by design.
  const main = (await runChecked(runner, ['pfctl', '-sr'])).stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const onGroup = (rule: string) => new RegExp(`\\bon ${group}\\b`).test(rule);
  const hookOnly = main.every((rule) => onGroup(rule) || rule.startsWith(`anchor "${DEFAULT_ANCHOR_ROOT}/*"`));
  if (hookOnly) for (const rule of main) if (onGroup(rule)) out.push(`pf main rule "${rule}"`);
  const inside = (a: string) => inSubnet(a, net.ipv4Subnet) || inSubnet(a, net.ipv6Subnet);
  for (const s of parseStates((await runChecked(runner, ['pfctl', '-ss'])).stdout)) {
    if ([s.source, s.destination, s.target].some((e) => inside(e.address)))
      out.push(`pf state ${s.protocol} ${s.source.address} -> ${s.destination.address}`);
  }
  return out;
}
