import { describe, expect, it, vi } from 'vitest';
import type { CommandOptions, CommandResult, CommandRunner } from '@coppice/runtime';
import { createFreeBsdHost, type FreeBsdHost } from '../../../runtime/test/freebsd-host/index.ts';
import { jailState } from '../../../runtime/test/freebsd-host/jail.ts';
import { netState } from '../../../runtime/test/freebsd-host/netif.ts';
import { evaluate, pfKernel } from '../../../runtime/test/freebsd-host/pf-kernel.ts';
import { renderRootRuleset } from '@coppice/runtime/net';
import { lifecycleManifest } from '../../src/rigs/lifecycle/manifest.ts';
import { preflight, run } from '../../src/rigs/lifecycle/rig.ts';
import { freebsdContext, modelObjects, NOTHING, useTemporaryLockDir } from './freebsd-rig-helpers.ts';

// The rig listens on the cubenet gateway (10.78.0.1), which this Linux test host does not have (or has, for a real
// Linux run of a network rig): the listener goes to an ephemeral loopback port instead. The model is the kernel here.
vi.mock('node:net', async (importOriginal) => {
  const net = await importOriginal<typeof import('node:net')>();
  const createServer = ((...args: Parameters<typeof net.createServer>) => {
    const server = net.createServer(...args);
    const listen = server.listen.bind(server);
    server.listen = ((...listenArgs: unknown[]) =>
      listen(0, '127.0.0.1', listenArgs.find((a) => typeof a === 'function') as () => void)) as typeof server.listen;
    return server;
  }) as typeof net.createServer;
  return { ...net, createServer, default: { ...net, createServer } };
});

useTemporaryLockDir();

/**
 * The model runs no programs inside jails but ifconfig and route; this runner stands in for nc(1) there: `jexec JAIL
 * nc -z -w 5 HOST PORT` sends its SYN through the model's pf evaluator, in on the jail's host-side epair, so the
 * connection gets through (and leaves a pf state, as a real one does) only if the sandbox's anchor passes it.
 * `intercept` lets a test break the kernel: it sees each other command first and may answer it itself.
 */
function withNc(
  host: FreeBsdHost,
  intercept?: (argv: readonly string[]) => CommandResult | undefined,
): CommandRunner & { connects: number } {
  let sport = 40000;
  const runner = {
    connects: 0,
    async run(argv: readonly string[], options?: CommandOptions): Promise<CommandResult> {
      const [tool, jail, command, ...args] = argv;
      if (tool === 'jexec' && command === 'nc') {
        expect(args.slice(0, 3)).toEqual(['-z', '-w', '5']);
        const [dst, port] = args.slice(3);
        const inner = [...netState(host).interfaces.values()].find(
          (i) => i.vnet === jail && i.addresses.some((a) => a.family === 'inet'),
        );
        if (!jailState(host).jails.has(jail!) || !inner)
          return { argv, code: 1, stdout: '', stderr: `jexec: jail "${jail}" not found\n` };
        const src = inner.addresses.find((a) => a.family === 'inet')!.address;
        const v = evaluate(host, {
          direction: 'in',
          iface: jail!,
          proto: 'tcp',
          src,
          sport: sport++,
          dst: dst!,
          dport: Number(port),
        });
        runner.connects++;
        return v.action === 'pass'
          ? { argv, code: 0, stdout: '', stderr: '' }
          : {
              argv,
              code: 1,
              stdout: '',
              stderr: `nc: connect to ${dst} port ${port} (tcp) failed: Operation timed out\n`,
            };
      }
      return intercept?.(argv) ?? host.run(argv, options);
    },
  };
  return runner;
}

const ok = (argv: readonly string[]): CommandResult => ({ argv, code: 0, stdout: '', stderr: '' });

describe('lifecycle on FreeBSD (host model, end to end)', () => {
  it('declares FreeBSD with its tools; preflight passes a ready host and names what another lacks', async () => {
    expect(lifecycleManifest.platforms).toEqual(['linux', 'freebsd']);
    expect(lifecycleManifest.requirements.binaries.freebsd).toEqual(
      expect.arrayContaining(['pfctl', 'jail', 'jexec', 'jls', 'nc']),
    );
    const pre = (host: FreeBsdHost) =>
      preflight({ platform: 'freebsd', quick: true, runner: host, manifest: lifecycleManifest });
    expect(await pre(createFreeBsdHost())).toEqual([]);
    const bad = createFreeBsdHost({ pfEnabled: false, anchorLimit: 16 });
    bad.sysctls.set('kern.features.vimage', '0');
    const reasons = (await pre(bad)).join('\n');
    expect(reasons).toMatch(/pf is not enabled/);
    expect(reasons).toMatch(/pf allows 16 anchors but 64 sandboxes need 65/);
    expect(reasons).toMatch(/lacks VIMAGE/);
  });

  it('checks out and releases N jail sandboxes, kills the states their connections left, audits 0 leaked, and leaves nothing', async () => {
    const host = createFreeBsdHost();
    const runner = withNc(host);
    const ctx = freebsdContext(runner, lifecycleManifest);
    await run(ctx);
    const n = lifecycleManifest.samples.quick;
    for (const s of ctx.seriesSet.toSeries()) {
      expect(s.failures, s.metric).toEqual([]);
      expect(s.samples, s.metric).toHaveLength(n);
      for (const x of s.samples) expect(x > 0 && x < 10_000, `${s.metric} ${x}`).toBe(true);
    }
    // Every sandbox connected through its anchor to the gateway and so had a pf state for release to kill.
    expect(runner.connects).toBe(n);
    expect(ctx.params.connectionsThatFailed).toEqual([]);
    expect(ctx.params.statesBeforeRelease).toBe(n);
    expect(ctx.checks).toEqual([
      {
        name: 'leaked-after-release-all',
        ok: true,
        detail: expect.stringMatching(
          /^0 objects leaked after releasing 10 sandboxes: states 0, anchors with their tables, forwards and bindings 0, endpoints 0 .*states before release: 10.*cnr: none\)$/,
        ),
      },
    ]);
    // The run read the kernel objects the check is about.
    const calls = host.calls.map((c) => c.join(' '));
    for (const c of ['pfctl -ss', 'pfctl -a cube -sA', 'ifconfig -g cnr_ep', 'jls name', 'ifconfig -l', 'pfctl -sr'])
      expect(calls).toContain(c);
    expect(modelObjects(host, 'cnr')).toEqual(NOTHING); // the rig tore it all down itself
    expect(await ctx.runDeferred()).toEqual([]);
    expect(modelObjects(host, 'cnr')).toEqual(NOTHING);
  });

  it('fails the check when release leaves the states behind', async () => {
    const host = createFreeBsdHost();
    // A kernel whose state kills do nothing: the connections' states outlive their sandboxes.
    const runner = withNc(host, (argv) => (argv[0] === 'pfctl' && argv[1] === '-k' ? ok(argv) : undefined));
    const ctx = freebsdContext(runner, lifecycleManifest);
    await run(ctx);
    const check = ctx.checks[0]!;
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(
      /^10 objects leaked after releasing 10 sandboxes: states 10, anchors with their tables, forwards and bindings 0, endpoints 0/,
    );
    expect(check.detail).toMatch(/pf state tcp 10\.78\.0\.\d+ -> 10\.78\.0\.1/); // and still there after teardown
    expect(await ctx.runDeferred()).toEqual([]);
    pfKernel(host).states = [];
    expect(modelObjects(host, 'cnr')).toEqual(NOTHING);
  });

  it('fails the check when a released sandbox keeps its anchor, or a jail survives teardown', async () => {
    const host = createFreeBsdHost();
    let keptAnchor = '';
    let keptJail = '';
    const runner = withNc(host, (argv) => {
      const [tool, a, b, c] = argv;
      // The first sandbox's anchor flush at release is lost (the anchor keeps its rules and tables).
      if (tool === 'pfctl' && a === '-a' && b?.startsWith('cube/sandbox-') && c === '-F' && !keptAnchor) {
        keptAnchor = b;
        return ok(argv);
      }
      // The first `jail -r` reports success and removes nothing.
      if (tool === 'jail' && a === '-r' && !keptJail) {
        keptJail = b!;
        return ok(argv);
      }
      return undefined;
    });
    const ctx = freebsdContext(runner, lifecycleManifest);
    await run(ctx);
    const check = ctx.checks[0]!;
    expect(check.ok).toBe(false);
    // The kept anchor counts with its 4 tables and the 2 anti-spoof bindings in its rules (7), plus the kernel's
    // anchor count after release-all (1).
    expect(check.detail).toMatch(
      /^7 objects leaked after releasing 10 sandboxes: states 0, anchors with their tables, forwards and bindings 8, endpoints 0/,
    );
    expect(keptAnchor).toMatch(/^cube\/sandbox-[0-9a-f]{12}$/);
    expect(check.detail).toContain(`jail ${keptJail}`);
    expect(await ctx.runDeferred()).toEqual([]);
    // The deferred teardown runs once more and finds the jail by its name (the kernel, unlike before, now removes it).
    expect(modelObjects(host, 'cnr')).toEqual(NOTHING);
  });

  it("on a host whose pf.conf holds the hook beside its own rules, passes and leaves the operator's ruleset as it was", async () => {
    const host = createFreeBsdHost();
    const hook = renderRootRuleset({
      anchorRoot: 'cube',
      endpointGroup: 'cnr_ep',
      ipv4Subnet: '10.78.0.0/24',
      ipv6Subnet: 'fd78::/64',
    });
    expect((await host.run(['pfctl', '-f', '-'], { input: `pass in on em0 all\n${hook}` })).code).toBe(0);
    const before = (await host.run(['pfctl', '-sr'])).stdout;
    const ctx = freebsdContext(withNc(host), lifecycleManifest);
    await run(ctx);
    expect(ctx.checks[0]).toMatchObject({ ok: true, detail: expect.stringMatching(/cnr: none\)$/) });
    expect(await ctx.runDeferred()).toEqual([]);
    expect((await host.run(['pfctl', '-sr'])).stdout).toBe(before);
    // Only the operator's: their 4 rules, and the anchor "cube" their anchor rule names.
    expect(modelObjects(host, 'cnr')).toEqual({ ...NOTHING, anchors: ['cube'], mainRules: 4 });
  });
});
