/**
 * Rig-only plumbing for the `direct` path of ext-to-sandbox. cubenet drops every new connection into a sandbox that
 * no port forward DNAT'd (its default isolation), and a separate nft table cannot override that drop. So the rig
 * inserts into cubenet's own forward chain one accept rule, narrowed to the peer's link, the sandbox's address and
 * the service port, just before the chain's final drop: a new direct connection reaches it where a forwarded one
 * reaches `ct status dnat accept`, and the packets of an established connection, on either path, are accepted by
 * the same `ct state established,related` rule earlier in the chain. The rule goes with cubenet's table at teardown.
 */
import { runChecked, type CommandRunner } from '@coppice/runtime';

interface NftJsonRule {
  rule?: { chain: string; handle: number; expr: Array<Record<string, unknown>> };
}

/** The handle of the last rule of `chain` that is a bare `drop` (from `nft -j -a list chain …`). */
export function finalDropHandle(json: string, chain: string): number {
  const objects = (JSON.parse(json) as { nftables: NftJsonRule[] }).nftables;
  const drops = objects
    .map((o) => o.rule)
    .filter((r): r is NonNullable<NftJsonRule['rule']> => r !== undefined && r.chain === chain)
    .filter((r) => r.expr.length === 1 && 'drop' in r.expr[0]!);
  const last = drops.at(-1);
  if (!last) throw new Error(`chain ${chain} has no final drop rule: cubenet's layout is not what this rig expects`);
  return last.handle;
}

export interface DirectAccept {
  table: string;
  peerInterface: string;
  bridge: string;
  sandboxIpv4: string;
  port: number;
}

/** The nft argv that inserts the accept before handle `before` (names and addresses come from validated values). */
export function directAcceptArgv(d: DirectAccept, before: number): string[] {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(d.peerInterface) || !/^[A-Za-z0-9_.-]{1,15}$/.test(d.bridge))
    throw new Error('bad interface name');
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(d.sandboxIpv4)) throw new Error(`bad IPv4 address ${d.sandboxIpv4}`);
  if (!Number.isInteger(d.port) || d.port < 1 || d.port > 65535) throw new Error(`bad port ${d.port}`);
  return [
    'nft',
    'insert',
    'rule',
    'inet',
    d.table,
    'forward',
    'position',
    String(before),
    'iifname',
    JSON.stringify(d.peerInterface),
    'oifname',
    JSON.stringify(d.bridge),
    'ip',
    'daddr',
    d.sandboxIpv4,
    'tcp',
    'dport',
    String(d.port),
    'ct',
    'state',
    'new',
    'counter',
    'accept',
  ];
}

/** Packets counted by the one rule of `chain` that has a counter (the direct accept: cubenet's rules have none). */
export function directAcceptPackets(json: string, chain: string): number {
  const objects = (JSON.parse(json) as { nftables: NftJsonRule[] }).nftables;
  const counted = objects
    .map((o) => o.rule)
    .filter((r): r is NonNullable<NftJsonRule['rule']> => r !== undefined && r.chain === chain)
    .flatMap((r) => r.expr.filter((e) => 'counter' in e).map((e) => (e.counter as { packets: number }).packets));
  if (counted.length !== 1) throw new Error(`expected one counted rule in chain ${chain}, found ${counted.length}`);
  return counted[0]!;
}

export async function readDirectAcceptPackets(runner: CommandRunner, table: string): Promise<number> {
  const listing = await runChecked(runner, ['nft', '-j', 'list', 'chain', 'inet', table, 'forward']);
  return directAcceptPackets(listing.stdout, 'forward');
}

export async function allowDirect(runner: CommandRunner, d: DirectAccept): Promise<string[]> {
  const listing = await runChecked(runner, ['nft', '-j', '-a', 'list', 'chain', 'inet', d.table, 'forward']);
  const argv = directAcceptArgv(d, finalDropHandle(listing.stdout, 'forward'));
  await runChecked(runner, argv);
  return argv;
}
