/**
 * Rate limits on the real Linux kernel (root): the tc limiter alone on a veth pair this test makes, then through
 * cubenet (openCubenet on Linux): set, change, refuse bad input, audit leaks, reconcile, release. Prefix "cpq",
 * subnet 10.232.0.0/24. Throughput is the rate-limit rig's job; here the kernel objects are checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecked } from '../../src/host/command-runner.ts';
import type { Cubenet, Sandbox } from '../../src/net/cubenet.ts';
import { openCubenet } from '../../src/net/open.ts';
import { TcRateLimiter } from '../../src/net/rate-limit/tc.ts';
import { NetInputError } from '../../src/net/validate.ts';
import type { InterfaceName, SandboxId } from '../../src/net/types.ts';
import { canRunKernelTests, runner, tempDir } from './helpers.ts';

const skip = await canRunKernelTests();
const PREFIX = 'cpq';

async function qdiscs(): Promise<Array<{ kind: string; dev: string; options?: { rate?: number } }>> {
  const all = JSON.parse((await runChecked(runner, ['tc', '-j', 'qdisc', 'show'])).stdout) as Array<{
    kind: string;
    dev: string;
    options?: { rate?: number };
  }>;
  return all
    .filter((q) => q.dev.startsWith(`${PREFIX}-`) || q.dev.startsWith(`${PREFIX}_`))
    .filter((q) => q.kind === 'tbf' || q.kind === 'ingress');
}

describe.skipIf(skip)('tc rate limiter (real kernel)', () => {
  const limiter = new TcRateLimiter(runner, PREFIX);
  const target = { id: '0123456789ab' as SandboxId, slot: 7, hostInterface: `${PREFIX}-rlva` as InterfaceName };

  beforeAll(async () => {
    await runChecked(runner, [
      'ip',
      'link',
      'add',
      target.hostInterface,
      'type',
      'veth',
      'peer',
      'name',
      `${PREFIX}-rlvb`,
    ]);
  });
  afterAll(async () => {
    await runner.run(['ip', 'link', 'del', target.hostInterface]);
    await runner.run(['ip', 'link', 'del', `${PREFIX}_rl7`]);
  });

  it('preflight finds ifb, tbf, ingress and mirred in this kernel and leaves nothing', async () => {
    expect(await limiter.preflight()).toEqual([]);
    expect((await runner.run(['ip', 'link', 'show', 'dev', `${PREFIX}_rlpi`])).code).not.toBe(0);
  });

  it('applies, changes in place and clears', async () => {
    await limiter.apply(target, { egressMbit: 40 });
    const made = await qdiscs();
    expect(made.length).toBe(2);
    expect(made).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'tbf',
          dev: `${PREFIX}_rl7`,
          options: expect.objectContaining({ rate: 5_000_000 }),
        }),
        expect.objectContaining({ kind: 'ingress', dev: target.hostInterface }),
      ]),
    );
    await limiter.apply(target, { egressMbit: 80 }); // idempotent: one redirect, the new rate
    const filters = JSON.parse(
      (await runChecked(runner, ['tc', '-j', 'filter', 'show', 'dev', target.hostInterface, 'parent', 'ffff:'])).stdout,
    ) as Array<{ options?: { actions?: unknown[] } }>;
    expect(filters.filter((f) => f.options?.actions).length).toBe(1);
    expect((await limiter.inventory()).find((k) => k.slot === 7)?.egressMbit).toBe(80);
    await limiter.clear(target);
    expect(await qdiscs()).toEqual([]);
    await limiter.clear(target); // nothing there is fine
  });
});

describe.skipIf(skip)('cubenet rate limits on Linux (real kernel)', () => {
  let net: Cubenet;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let a: Sandbox;

  beforeAll(async () => {
    dir = await tempDir();
    net = await openCubenet({
      platform: 'linux',
      config: {
        prefix: PREFIX,
        ipv4Subnet: '10.232.0.0/24',
        ipv6Subnet: 'fd32::/64',
        stateDir: dir.path,
        lockDir: dir.path,
      },
    });
    await net.init();
    a = await net.checkout();
  });
  afterAll(async () => {
    await net?.teardown();
    await net?.close();
    await dir?.remove();
  });

  it('sets a limit on the sandbox, keeps it in the state, and audits it', async () => {
    const s = await net.setRateLimit(a.id, { egressMbit: 100 });
    expect(s.rateLimit).toEqual({ egressMbit: 100 });
    const slot = Number(a.addresses.ipv4.split('.')[3]);
    const tbf = (await qdiscs()).find((q) => q.kind === 'tbf');
    expect(tbf).toMatchObject({ dev: `${PREFIX}_rl${slot}`, options: { rate: 12_500_000 } });
    expect((await qdiscs()).some((q) => q.kind === 'ingress' && q.dev === a.endpoint.hostInterface)).toBe(true);
    const audit = await net.audit();
    expect(audit.ok, JSON.stringify(audit)).toBe(true);
    expect(audit.leaks.rateLimits).toEqual([]);
  });

  it('refuses bad limits and changes nothing', async () => {
    const before = await qdiscs();
    for (const bad of [
      { egressMbit: 0 },
      { egressMbit: 2001 },
      { egressMbit: 2.5 },
      { egressMbit: '1e3' },
      { egressMbit: 10, x: 1 },
      [],
    ]) {
      await expect(net.setRateLimit(a.id, bad)).rejects.toBeInstanceOf(NetInputError);
    }
    expect(await qdiscs()).toEqual(before);
    expect(net.get(a.id).rateLimit).toEqual({ egressMbit: 100 });
  });

  it('audit reports a stray ifb and a missing limit; reconcile on reopen fixes both', async () => {
    await runChecked(runner, ['ip', 'link', 'add', `${PREFIX}_rl200`, 'type', 'ifb']);
    const slot = Number(a.addresses.ipv4.split('.')[3]);
    await runChecked(runner, ['ip', 'link', 'del', `${PREFIX}_rl${slot}`]);
    const audit = await net.audit();
    expect(audit.leaks.rateLimits).toEqual([`ifb ${PREFIX}_rl200`]);
    expect(audit.missing.rateLimits).toEqual([`${a.id} (100 Mbit/s)`]);
    await net.close();
    net = await openCubenet({
      platform: 'linux',
      config: {
        prefix: PREFIX,
        ipv4Subnet: '10.232.0.0/24',
        ipv6Subnet: 'fd32::/64',
        stateDir: dir.path,
        lockDir: dir.path,
      },
    });
    expect(net.lastReconcile?.removedRateLimits).toEqual([`ifb ${PREFIX}_rl200`]);
    expect(net.lastReconcile?.reappliedRateLimits).toEqual([a.id]);
    expect((await net.audit()).ok).toBe(true);
  });

  it('release removes the limit before the endpoint is recycled', async () => {
    await net.release(a.id);
    await net.settle();
    expect(await qdiscs()).toEqual([]);
    const audit = await net.audit();
    expect(audit.ok, JSON.stringify(audit)).toBe(true);
  });
});
