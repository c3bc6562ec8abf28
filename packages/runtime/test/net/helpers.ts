/** Helpers for the real-kernel cubenet tests: processes in namespaces, an "external" peer namespace, snapshots. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessRunner, runChecked } from '../../src/host/command-runner.ts';
import { parseAddress } from '../../src/net/validate.ts';

export const runner = new ProcessRunner();
export const TCP_TOOL = fileURLToPath(new URL('./fixtures/tcp.mjs', import.meta.url));

export async function canRunKernelTests(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root';
  const r = await runner.run(['nft', 'list', 'tables']).catch(() => undefined);
  if (!r || r.code !== 0) return 'needs nftables';
  return undefined;
}

export async function tempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'cubenet-test-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

const children = new Set<ChildProcess>();

/** Starts a long-running process in a namespace (or on the host) and waits until it prints `ready`. */
export async function startIn(netns: string | undefined, argv: string[], ready: string): Promise<ChildProcess> {
  const full = netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
  const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${full.join(' ')} did not print ${ready}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`${full.join(' ')} exited ${code}`)));
  });
  return child;
}

export function stopAll(): void {
  for (const c of children) if (c.pid) process.kill(c.pid, 'SIGKILL');
  children.clear();
}

export async function serve(netns: string | undefined, port: number): Promise<ChildProcess> {
  return startIn(netns, [process.execPath, TCP_TOOL, 'serve', String(port)], 'listening');
}

/** Connects from a namespace; resolves with the address the server saw, or undefined when it could not connect. */
export async function connect(
  netns: string,
  host: string,
  port: number,
  options: { timeoutMs?: number; source?: string } = {},
): Promise<string | undefined> {
  const argv = [
    'ip',
    'netns',
    'exec',
    netns,
    process.execPath,
    TCP_TOOL,
    'connect',
    host,
    String(port),
    String(options.timeoutMs ?? 700),
  ];
  if (options.source) argv.push(options.source);
  const r = await runner.run(argv);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** A namespace standing in for a client on the LAN: veth to the host, 198.18.0.0/24 + 2001:2::/64 (benchmark ranges). */
export interface Peer {
  netns: string;
  hostSide: { ipv4: string; ipv6: string };
  peer: { ipv4: string; ipv6: string };
  remove(): Promise<void>;
}

export async function createPeer(name: string, third = 0): Promise<Peer> {
  const hostIf = `${name}-h`;
  const v6 = (n: number) => parseAddress(`2001:2:0:${third.toString(16)}::${n}`);
  const hostSide = { ipv4: `198.18.${third}.1`, ipv6: v6(1) };
  const peer = { ipv4: `198.18.${third}.2`, ipv6: v6(2) };
  await runChecked(runner, ['ip', '-batch', '-'], {
    input: [
      `netns add ${name}`,
      `link add ${hostIf} type veth peer name eth0 netns ${name}`,
      `addr add ${hostSide.ipv4}/24 dev ${hostIf}`,
      `addr add ${hostSide.ipv6}/64 dev ${hostIf} nodad`,
      `link set ${hostIf} up`,
      '',
    ].join('\n'),
  });
  await runChecked(runner, ['ip', '-n', name, '-batch', '-'], {
    input: [
      'link set lo up',
      'link set eth0 up',
      `addr add ${peer.ipv4}/24 dev eth0`,
      `addr add ${peer.ipv6}/64 dev eth0 nodad`,
      `route add default via ${hostSide.ipv4}`,
      `route add default via ${hostSide.ipv6}`,
      '',
    ].join('\n'),
  });
  return {
    netns: name,
    hostSide,
    peer,
    remove: async () => {
      await runner.run(['ip', 'link', 'del', hostIf]);
      await runner.run(['ip', 'netns', 'delete', name]);
    },
  };
}

/** What the kernel holds for a prefix, as text, to prove that a rejected call changed nothing. */
export async function kernelSnapshot(prefix: string): Promise<string> {
  const inet = await runner.run(['nft', 'list', 'table', 'inet', prefix]);
  const bridge = await runner.run(['nft', 'list', 'table', 'bridge', prefix]);
  const links = await runner.run(['ip', '-br', 'link']);
  const ns = await runner.run(['ip', 'netns', 'list']);
  const mine = (t: string) =>
    t
      .split('\n')
      .filter((l) => l.includes(prefix))
      .map((l) => l.replace(/\s+/g, ' '))
      .sort()
      .join('\n');
  return [inet.stdout, bridge.stdout, mine(links.stdout), mine(ns.stdout)].join('\n----\n');
}
