import { describe, expect, it } from 'vitest';
import type { CommandOptions, CommandResult } from '@coppice/runtime';
import { createFreeBsdHost, type FreeBsdHost } from '../../../runtime/test/freebsd-host/index.ts';
import { pfKernel } from '../../../runtime/test/freebsd-host/pf-kernel.ts';
import { policyChurnManifest } from '../../src/rigs/policy-churn/manifest.ts';
import { PLAN, preflight, run } from '../../src/rigs/policy-churn/rig.ts';
import { freebsdContext, modelObjects, NOTHING, useTemporaryLockDir } from './freebsd-rig-helpers.ts';

useTemporaryLockDir();

/** The model, with a test's chance to answer a command itself first (a kernel that misbehaves). */
function broken(host: FreeBsdHost, intercept: (argv: readonly string[], input: string) => CommandResult | undefined) {
  return {
    run: (argv: readonly string[], options?: CommandOptions) =>
      Promise.resolve(intercept(argv, options?.input?.toString() ?? '')).then((r) => r ?? host.run(argv, options)),
  };
}
const ok = (argv: readonly string[]): CommandResult => ({ argv, code: 0, stdout: '', stderr: '' });

describe('policy-churn on FreeBSD (host model, end to end)', () => {
  it("declares FreeBSD; preflight passes a ready host and names pf's limits and switches otherwise", async () => {
    expect(policyChurnManifest.platforms).toEqual(['linux', 'freebsd']);
    expect(policyChurnManifest.requirements.binaries.freebsd).toEqual(['pfctl', 'sysctl']);
    const pre = (host: FreeBsdHost, quick: boolean) =>
      preflight({ platform: 'freebsd', quick, runner: host, manifest: policyChurnManifest });
    expect(await pre(createFreeBsdHost(), true)).toEqual([]);
    expect((await pre(createFreeBsdHost(), false)).join('\n')).toMatch(
      /pf allows 512 anchors but 1000 sandboxes need 1001/,
    );
    expect(await pre(createFreeBsdHost({ anchorLimit: 4096 }), false)).toEqual([]);
    const reasons = (await pre(createFreeBsdHost({ pfEnabled: false, pfilMember: false }), true)).join('\n');
    expect(reasons).toMatch(/pf is not enabled/);
    expect(reasons).toMatch(/pfil_member is 0/);
  });

  it('loads n = 10 then 100 sandbox anchors, times each whole-anchor load, counts them back, and leaves nothing', async () => {
    const host = createFreeBsdHost();
    const ctx = freebsdContext(host, policyChurnManifest);
    await run(ctx);
    const series = ctx.seriesSet.toSeries();
    expect(series.map((s) => s.labels.n)).toEqual(PLAN.quick.map((l) => String(l.n)));
    for (const [i, s] of series.entries()) {
      expect(s.failures).toEqual([]);
      expect(s.samples).toHaveLength(PLAN.quick[i]!.loads);
      for (const x of s.samples) expect(x > 0 && x < 10_000).toBe(true);
    }
    expect(ctx.params.chainsInKernel).toBe(100);
    expect(ctx.params.firewall).toMatchObject({ backend: expect.stringMatching(/PfFirewall/), prefix: 'cgc' });
    // Population and samples are all whole-anchor loads: 100 to populate, (1 warm-up + loads) per level to time.
    const loads = host.calls.filter(
      (c) => c[0] === 'pfctl' && c[1] === '-a' && c[2]!.startsWith('cube/sandbox-') && c[3] === '-f',
    );
    const timed = PLAN.quick.reduce((sum, l) => sum + 1 + l.loads, 0);
    expect(loads).toHaveLength(100 + timed);
    // Every anchor holds the last policy the rig gave it: the last timed load's anchor has its 12 allowOut entries.
    const last = loads[loads.length - 1]![2]!;
    expect(pfKernel(host).rulesets.get(last)!.tables.get('sandbox_allow')!.entries.size).toBe(12);
    expect(ctx.host.facts['pf-limit']).toMatch(/set limit anchors/);

    expect(await ctx.runDeferred()).toEqual([]);
    expect(modelObjects(host, 'cgc')).toEqual(NOTHING);
  });

  it('fails when the kernel holds fewer anchors than the rig loaded', async () => {
    const host = createFreeBsdHost();
    let lost = '';
    // A kernel that accepts one anchor load and keeps nothing of it: sandbox 50's, made for n = 100 and never among
    // the timed loads there (the stride visits 0, 33, 66, 99, 32, ...), which would load it again.
    const ctx = freebsdContext(
      broken(host, (argv) => {
        if (!lost && argv[0] === 'pfctl' && argv[2] === 'cube/sandbox-000000000032' && argv[3] === '-f') {
          lost = argv[2];
          return ok(argv);
        }
        return undefined;
      }),
      policyChurnManifest,
    );
    await expect(run(ctx)).rejects.toThrow(/the kernel holds 99 sandbox anchors, the rig loaded 100/);
    expect(lost).toBe('cube/sandbox-000000000032');
    expect(await ctx.runDeferred()).toEqual([]);
    expect(modelObjects(host, 'cgc')).toEqual(NOTHING);
  });

  it('its last cleanup fails the run when an anchor survives the teardown', async () => {
    const host = createFreeBsdHost();
    const ctx = freebsdContext(
      // The teardown's flush of one anchor does nothing (the first -F after the run's own start-up flush).
      broken(host, (argv) =>
        argv[0] === 'pfctl' &&
        argv[2] === 'cube/sandbox-000000000007' &&
        argv[3] === '-F' &&
        pfKernel(host).rulesets.has(argv[2])
          ? ok(argv)
          : undefined,
      ),
      policyChurnManifest,
    );
    await run(ctx);
    const errors = await ctx.runDeferred();
    expect(errors.join('\n')).toMatch(
      /left behind after cleanup: pf anchor cube\/sandbox-000000000007 \(tables sandbox_allow, sandbox_deny, sandbox_dns, sandbox_private\)/,
    );
    await host.run(['pfctl', '-a', 'cube/sandbox-000000000007', '-F', 'all']);
    expect(modelObjects(host, 'cgc')).toEqual(NOTHING);
  });
});
