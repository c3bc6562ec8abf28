import { describe, expect, it } from 'vitest';
import { createFreeBsdHost } from '../../../runtime/test/freebsd-host/index.ts';
import { pfKernel } from '../../../runtime/test/freebsd-host/pf-kernel.ts';
import { policyUpdateManifest } from '../../src/rigs/policy-update/manifest.ts';
import { preflight, run } from '../../src/rigs/policy-update/rig.ts';
import { freebsdContext, modelObjects, NOTHING, useTemporaryLockDir } from './freebsd-rig-helpers.ts';

useTemporaryLockDir();

describe('policy-update on FreeBSD (host model, end to end)', () => {
  it('declares FreeBSD with its tools, and preflight passes a ready host and names what another lacks', async () => {
    expect(policyUpdateManifest.platforms).toEqual(['linux', 'freebsd']);
    expect(policyUpdateManifest.requirements.binaries.freebsd).toEqual(
      expect.arrayContaining(['pfctl', 'jail', 'jexec']),
    );
    expect(policyUpdateManifest.clock).toMatch(/pfctl -a ANCHOR -t sandbox_allow -T replace/);
    const pre = (host: ReturnType<typeof createFreeBsdHost>) =>
      preflight({ platform: 'freebsd', quick: true, runner: host, manifest: policyUpdateManifest });
    expect(await pre(createFreeBsdHost())).toEqual([]);
    expect((await pre(createFreeBsdHost({ pfEnabled: false, pfilMember: false }))).join('\n')).toMatch(
      /pf is not enabled[^]*pfil_member is 0/,
    );
  });

  it('records add-one, replace-1000 and the pfctl spawn floor on a live jail sandbox, reads the table back, and leaves nothing', async () => {
    const host = createFreeBsdHost();
    const ctx = freebsdContext(host, policyUpdateManifest);
    await run(ctx);
    const series = ctx.seriesSet.toSeries();
    const byName = (metric: string, op?: string) => series.find((s) => s.metric === metric && s.labels.op === op)!;
    for (const s of [
      byName('update-latency', 'add-one'),
      byName('update-latency', 'replace-1000'),
      byName('firewall-spawn'),
    ]) {
      expect(s.failures, s.metric).toEqual([]);
      expect(s.samples).toHaveLength(policyUpdateManifest.samples.quick);
      for (const x of s.samples) expect(x > 0 && x < 10_000, `${s.metric} ${x}`).toBe(true);
    }
    expect(ctx.params.firewallCommand).toBe('pfctl -s info');
    // The floor really spawned pfctl -s info, and the changes went as table commands on the sandbox's anchor.
    const calls = host.calls.map((c) => c.join(' '));
    expect(calls.filter((c) => c === 'pfctl -s info').length).toBeGreaterThanOrEqual(
      policyUpdateManifest.samples.quick,
    );
    const sandbox = ctx.params.sandbox as { id: string; endpoint: string };
    expect(sandbox.endpoint).toBe('isolated');
    const anchor = `cube/sandbox-${sandbox.id}`;
    // recorded rounds, warm-up rounds, and the unrecorded rounds that follow each block of spawns
    const spawnBlocks = (ctx.params.blockOrder as string).split('').filter((b) => b === 'S').length;
    const rounds =
      policyUpdateManifest.samples.quick +
      (ctx.params.warmupRounds as number) +
      spawnBlocks * (ctx.params.settleRoundsAfterSpawns as number);
    expect(spawnBlocks).toBeGreaterThan(0);
    expect(calls.filter((c) => c === `pfctl -a ${anchor} -t sandbox_allow -T replace -f -`)).toHaveLength(rounds);
    expect(calls.filter((c) => c === `pfctl -a ${anchor} -t sandbox_allow -T add -f -`)).toHaveLength(rounds + 1);
    // As the clock says: every replace withdraws the old list, so the pf backend reads the states once; the sandbox
    // opened no connection, so nothing is killed. An add withdraws nothing and reads nothing.
    expect(calls.filter((c) => c === 'pfctl -ss').length).toBeGreaterThanOrEqual(rounds); // plus the teardown's audit
    expect(calls.filter((c) => c.startsWith('pfctl -k'))).toEqual([]);
    // The read-back saw the whole table: the last batch of 1 000 and the address added after it.
    expect(ctx.params.readBack).toEqual({ command: `pfctl -a ${anchor} -t sandbox_allow -T show`, entries: 1001 });
    expect(pfKernel(host).rulesets.get(anchor)!.tables.get('sandbox_allow')!.entries.size).toBe(1001);

    expect(await ctx.runDeferred()).toEqual([]);
    expect(modelObjects(host, 'cnr')).toEqual(NOTHING);
  });

  it('fails when the kernel table does not hold what cubenet says it wrote', async () => {
    const host = createFreeBsdHost();
    // A kernel that loses one element of every replace (the last line of the list): the read-back must notice.
    const runner = {
      run: (argv: readonly string[], options?: Parameters<typeof host.run>[1]) => {
        if (argv.includes('replace') && options?.input) {
          const lines = options.input.toString().trimEnd().split('\n');
          return host.run(argv, { ...options, input: `${lines.slice(0, -1).join('\n')}\n` });
        }
        return host.run(argv, options);
      },
    };
    const ctx = freebsdContext(runner, policyUpdateManifest);
    await expect(run(ctx)).rejects.toThrow(/sandbox_allow -T show holds 1000 entries, 1001 expected: missing 1/);
    expect(await ctx.runDeferred()).toEqual([]);
    expect(modelObjects(host, 'cnr')).toEqual(NOTHING);
  });
});
