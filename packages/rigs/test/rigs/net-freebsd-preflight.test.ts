import { describe, expect, it } from 'vitest';
import type { RigManifest } from '@coppice/results-schema';
import { createFreeBsdHost } from '../../../runtime/test/freebsd-host/index.ts';
import type { PreflightContext } from '../../src/harness/rig-context.ts';
import { cubenetPreflight } from '../../src/lib/net/rig-cubenet.ts';
import { sandboxExec } from '../../src/lib/net/sandbox-exec.ts';
import { netRrManifest } from '../../src/rigs/net-rr/manifest.ts';
import { preflight as netRrPreflight } from '../../src/rigs/net-rr/rig.ts';
import { netThroughputManifest } from '../../src/rigs/net-throughput/manifest.ts';
import { preflight as netThroughputPreflight } from '../../src/rigs/net-throughput/rig.ts';

/** On FreeBSD the network rigs check the real prerequisites of cubenet's pf/jail backends (against the host model). */
function ctx(host: ReturnType<typeof createFreeBsdHost>, manifest: RigManifest): PreflightContext {
  return { platform: 'freebsd', quick: true, runner: host, manifest };
}

describe('network rigs on FreeBSD: preflight', () => {
  it('a ready host passes net-rr and net-throughput; their manifests name FreeBSD and its tools', async () => {
    const host = createFreeBsdHost();
    expect(await netRrPreflight(ctx(host, netRrManifest))).toEqual([]);
    expect(await netThroughputPreflight(ctx(host, netThroughputManifest))).toEqual([]);
    expect(netRrManifest.platforms).toContain('freebsd');
    expect(netThroughputManifest.requirements.binaries.freebsd).toEqual(
      expect.arrayContaining(['pfctl', 'jexec', 'iperf3']),
    );
  });

  it('names what a FreeBSD host lacks instead of "not wired"', async () => {
    const host = createFreeBsdHost({ pfEnabled: false, pfilMember: false, anchorLimit: 4 });
    const reasons = (await netRrPreflight(ctx(host, netRrManifest))).join('\n');
    expect(reasons).toMatch(/pf is not enabled/);
    expect(reasons).toMatch(/pf allows 4 anchors/);
    expect(reasons).toMatch(/pfil_member is 0/);
    expect(reasons).not.toMatch(/not wired/);
    expect((await cubenetPreflight(ctx(createFreeBsdHost(), netRrManifest), { rateLimits: true })).join('\n')).toMatch(
      /kldload dummynet/,
    );
    expect(
      await cubenetPreflight(ctx(createFreeBsdHost({ dummynet: true }), netRrManifest), { rateLimits: true }),
    ).toEqual([]);
  });

  it('runs sandbox commands with jexec on FreeBSD and ip netns exec on Linux', () => {
    const endpoint = { kind: 'isolated' as const, hostInterface: 'cnr-e0a1b2c3' as never, isolation: 'cnr-e0a1b2c3' };
    expect(sandboxExec({ platform: 'freebsd' } as PreflightContext, endpoint)).toEqual(['jexec', 'cnr-e0a1b2c3']);
    expect(sandboxExec({ platform: 'linux' } as PreflightContext, endpoint)).toEqual([
      'ip',
      'netns',
      'exec',
      'cnr-e0a1b2c3',
    ]);
  });
});
