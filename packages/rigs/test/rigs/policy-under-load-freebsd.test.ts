import { describe, expect, it } from 'vitest';
import { createFreeBsdHost, type FreeBsdHost } from '../../../runtime/test/freebsd-host/index.ts';
import { formatCidr } from '../../../runtime/test/freebsd-host/inet.ts';
import { evaluate, pfKernel } from '../../../runtime/test/freebsd-host/pf-kernel.ts';
import { openRigCubenet } from '../../src/lib/net/rig-cubenet.ts';
import { sandboxExec } from '../../src/lib/net/sandbox-exec.ts';
import { policyUnderLoadManifest } from '../../src/rigs/policy-under-load/manifest.ts';
import { checkoutFour, preflight } from '../../src/rigs/policy-under-load/rig.ts';
import { freebsdContext, modelObjects, NOTHING, useTemporaryLockDir } from './freebsd-rig-helpers.ts';

useTemporaryLockDir();

describe('policy-under-load on FreeBSD (host model: sandboxes, policies and mutations; the model runs no traffic)', () => {
  it('declares FreeBSD with its tools and says the FreeBSD path ran only against the model; preflight checks pf', async () => {
    expect(policyUnderLoadManifest.platforms).toEqual(['linux', 'freebsd']);
    expect(policyUnderLoadManifest.requirements.binaries.freebsd).toEqual(
      expect.arrayContaining(['pfctl', 'jail', 'jexec', 'sockstat', 'sockperf', 'iperf3']),
    );
    expect(policyUnderLoadManifest.requirements.notes.join(' ')).toMatch(
      /only against the runtime's FreeBSD host model/,
    );
    expect(policyUnderLoadManifest.clock).toMatch(/-T replace/);
    const pre = (host: FreeBsdHost) =>
      preflight({ platform: 'freebsd', quick: true, runner: host, manifest: policyUnderLoadManifest });
    expect(await pre(createFreeBsdHost())).toEqual([]);
    expect((await pre(createFreeBsdHost({ pfEnabled: false }))).join('\n')).toMatch(/pf is not enabled/);
  });

  it('four jail sandboxes allow their partners; a mutation replaces the whole list as one table command and keeps the flows allowed; nothing is left', async () => {
    const host = createFreeBsdHost();
    const ctx = freebsdContext(host, policyUnderLoadManifest);
    const net = await openRigCubenet(ctx);
    const { a, b, c, d, pairs, allowFor } = await checkoutFour(net);
    expect(sandboxExec(ctx, a.endpoint)).toEqual(['jexec', a.endpoint.isolation]);
    const syn = (from: typeof a, to: typeof a) =>
      evaluate(
        host,
        {
          direction: 'in',
          iface: from.endpoint.hostInterface,
          proto: 'tcp',
          src: from.addresses.ipv4,
          sport: 40000,
          dst: to.addresses.ipv4,
          dport: 11120,
        },
        { createState: false },
      );
    const table = (s: typeof a) =>
      [...pfKernel(host).rulesets.get(`cube/sandbox-${s.id}`)!.tables.get('sandbox_allow')!.entries.values()].map(
        formatCidr,
      );
    expect(syn(a, b).action).toBe('pass');
    expect(syn(c, d).action).toBe('pass');
    expect(syn(a, c).action).toBe('block'); // only the partner
    expect(table(a)).toHaveLength(100);

    const before = new Set(table(a));
    const calls = host.calls.length;
    for (const [s, peer] of pairs) await net.replaceAddresses(s.id, 'allowOut', allowFor(peer, 10));
    const sent = host.calls.slice(calls).map((argv) => argv.join(' '));
    for (const s of [a, b, c, d])
      expect(sent.filter((x) => x === `pfctl -a cube/sandbox-${s.id} -t sandbox_allow -T replace -f -`)).toHaveLength(
        1,
      );
    const after = table(a);
    expect(after).toHaveLength(100);
    expect(after.filter((x) => before.has(x)).sort()).toEqual([b.addresses.ipv4, b.addresses.ipv6].sort()); // new fillers, same partner
    expect(syn(a, b).action).toBe('pass');
    expect(syn(c, d).action).toBe('pass');

    expect(await ctx.runDeferred()).toEqual([]);
    expect(modelObjects(host, 'cnr')).toEqual(NOTHING);
  });
});
