/**
 * A release killed with SIGKILL at any step is finished by the next controller, never undone: the state file goes
 * first, so reconcile sees a sandbox nobody owns and sweeps its rules and endpoint instead of re-applying them.
 * Prefix "cxr", 10.187.0.0/24.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessRunner } from '../../src/host/command-runner.ts';
import { Cubenet } from '../../src/net/cubenet.ts';
import { LinuxEndpoints } from '../../src/net/endpoint/linux/netns.ts';
import { NftablesFirewall } from '../../src/net/firewall/nftables/nftables.ts';
import { canRunKernelTests, runner, tempDir } from './helpers.ts';

const skip = await canRunKernelTests();
const PREFIX = 'cxr';
const V4 = '10.187.0.0/24';
const V6 = 'fd87:187::/64';
const STEPS = ['before-firewall', 'after-firewall', 'after-states'] as const;

async function kernelObjects(): Promise<{ sandboxes: string[]; links: string[]; netns: string[] }> {
  const t = await runner.run(['nft', 'list', 'table', 'inet', PREFIX]);
  const links = (await runner.run(['ip', '-br', 'link'])).stdout
    .split('\n')
    .map((l) => l.split(/[\s@]/)[0]!)
    .filter((n) => n.startsWith(`${PREFIX}-`));
  const netns = (await runner.run(['ip', 'netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${PREFIX}-`));
  const sandboxes = [...new Set(t.stdout.match(/sbx-[0-9a-f]{12}/g) ?? [])].sort();
  return { sandboxes, links, netns };
}

/** Runs the fixture until it stops at `step`, kills it with SIGKILL, and resolves with the ids it checked out. */
async function killReleaseAt(stateDir: string, step: string): Promise<{ released: string; kept: string }> {
  const fixture = fileURLToPath(new URL('./fixtures/release-killed-controller.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, stateDir, PREFIX, V4, V6, step], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`controller never stopped at ${step}: ${out} ${err}`)), 60_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes(`stopped at ${step}`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`controller exited ${code} before ${step}: ${out} ${err}`)));
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  const [, released, kept] = /checked out ([0-9a-f]{12}) ([0-9a-f]{12})/.exec(out)!;
  return { released: released!, kept: kept! };
}

function open(stateDir: string): Promise<Cubenet> {
  const real = new ProcessRunner();
  return Cubenet.open({
    config: { prefix: PREFIX, ipv4Subnet: V4, ipv6Subnet: V6, stateDir },
    runner: real,
    firewall: new NftablesFirewall(real, PREFIX),
    endpoints: new LinuxEndpoints(real),
  });
}

describe.skipIf(skip)('a release killed with SIGKILL is finished, not undone, by the next start', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    dir = await tempDir();
  });

  afterAll(async () => {
    const net = await open(dir.path);
    await net.teardown();
    await net.close();
    await dir.remove();
    expect(await kernelObjects()).toEqual({ sandboxes: [], links: [], netns: [] });
  });

  it.each(STEPS)('killed %s: the released sandbox stays gone, the other survives, nothing leaks', async (step) => {
    const { released, kept } = await killReleaseAt(dir.path, step);
    const left = await kernelObjects();
    expect(left.sandboxes).toContain(`sbx-${kept}`);
    const net = await open(dir.path);
    try {
      expect(net.list().map((s) => s.id)).toEqual([kept]);
      expect(net.lastReconcile!.reappliedPolicies).toEqual([]);
      if (left.sandboxes.includes(`sbx-${released}`))
        expect(net.lastReconcile!.removedChains).toEqual([`sbx-${released}`]);
      const audit = await net.audit();
      expect(audit.ok, JSON.stringify(audit)).toBe(true);
      expect(await kernelObjects()).toMatchObject({ sandboxes: [`sbx-${kept}`] });
      await net.releaseAll();
      await net.settle();
      expect((await net.audit()).ok).toBe(true);
    } finally {
      await net.teardown();
      await net.close();
    }
    expect(await kernelObjects()).toEqual({ sandboxes: [], links: [], netns: [] });
  });
});
