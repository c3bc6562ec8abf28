import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resultFileSchema } from '@coppice/results-schema';
import { createNamespacePair } from '../../src/lib/net/namespace-pair.ts';
import { crossCpuPlacement, describePlacement, pinnedArgv, SAME_CPU } from '../../src/lib/rr/cpu-placement.ts';
import type { RrPath } from '../../src/lib/rr/rr-path.ts';
import { parseSockperfFullLog, sockperfClientArgv } from '../../src/lib/rr/sockperf.ts';
import { hostLimitsManifest } from '../../src/rigs/host-limits/manifest.ts';
import { fakeHost, filesUnder, repoRoot, rigTestContext, tempDir } from '../harness/helpers.ts';

describe('parseSockperfFullLog', () => {
  it('takes the rtt column of each transaction row, ignoring the text sockperf writes around it', () => {
    const log = [
      'test was performed using the following parameters: --mps=600000 --burst=1 --full-rtt',
      '------------------------------',
      'sockperf: [Total Run] RunTime=1.001 sec; Warm up time=400 msec; SentMessages=30342; ReceivedMessages=30341',
      '------------------------------',
      'packet, txTime(sec), rxTime(sec), rtt(usec)',
      '0, 2.407362530, 2.407457180, 94.650',
      '1, 2.407862529, 2.407996012, 133.483',
      '',
    ].join('\n');
    expect(parseSockperfFullLog(log)).toEqual([94.65, 133.483]);
    expect(parseSockperfFullLog('no rows here\n')).toEqual([]);
  });
});

describe('RR placement', () => {
  it('puts client and server on different CPUs when there are two or more, both on CPU 0 otherwise', () => {
    expect(crossCpuPlacement(2)).toEqual({ client: 0, server: 1 });
    expect(crossCpuPlacement(96)).toEqual({ client: 0, server: 1 });
    expect(crossCpuPlacement(1)).toEqual({ client: 0, server: 0 });
    expect(() => crossCpuPlacement(0)).toThrow(/positive integer, got 0/);
    expect(describePlacement(crossCpuPlacement(2))).toBe('client on CPU 0, server on CPU 1');
  });

  it('pins the tool itself: taskset -c on Linux, cpuset -l on FreeBSD, placed after the namespace/jail prefix', () => {
    expect(pinnedArgv('linux', 1, ['sockperf', 'server'])).toEqual(['taskset', '-c', '1', 'sockperf', 'server']);
    expect(pinnedArgv('freebsd', 0, ['sockperf', 'server'])).toEqual(['cpuset', '-l', '0', 'sockperf', 'server']);
    expect(() => pinnedArgv('linux', -1, ['x'])).toThrow(/non-negative integer/);
    expect(() => pinnedArgv('linux', 0, [])).toThrow(/empty argv/);
    const path: RrPath = {
      clientExec: ['ip', 'netns', 'exec', 'a'],
      serverExec: ['ip', 'netns', 'exec', 'b'],
      address: '10.123.0.2',
      port: 11111,
      placement: SAME_CPU,
    };
    expect(sockperfClientArgv('linux', path, 2, '/tmp/log.csv')).toEqual([
      'taskset',
      '-c',
      '0',
      'sockperf',
      'ping-pong',
      '--tcp',
      '-i',
      '10.123.0.2',
      '-p',
      '11111',
      '-t',
      '2',
      '--full-rtt',
      '--full-log',
      '/tmp/log.csv',
    ]);
    // sockperf 3.7 rejects a fractional -t (prints its usage and exits 0 without measuring), so it is refused here.
    expect(() => sockperfClientArgv('linux', path, 0.5, 'f')).toThrow(/whole seconds/);
  });
});

/** Links and namespaces named for one pair tag (`cpr-<tag>-...`). */
function leftovers(tag: string): string[] {
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout.split('\n');
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n');
  const name = new RegExp(`\\bcpr-${tag}-[a-z]+\\b`);
  return [...links, ...netns].map((l) => name.exec(l)?.[0]).filter((n): n is string => n !== undefined);
}

describe.skipIf(process.getuid?.() !== 0)('host-limits --quick, for real (root)', () => {
  it('a namespace pair that fails midway removes what it made and leaves a namespace it did not make', async () => {
    const tag = 'f00d42';
    spawnSync('ip', ['netns', 'add', `cpr-${tag}-b`]); // taken: creating side b fails after the bridge and side a exist
    try {
      const ctx = rigTestContext(hostLimitsManifest, { tmpName: 'pair' });
      await expect(createNamespacePair(ctx, tag)).rejects.toThrow(/ip netns add cpr-f00d42-b/);
      expect(await ctx.runDeferred()).toEqual([]);
      expect(leftovers(tag)).toEqual([`cpr-${tag}-b`]);
    } finally {
      spawnSync('ip', ['netns', 'del', `cpr-${tag}-b`]);
    }
    expect(leftovers(tag)).toEqual([]);
  });

  it('a namespace pair has IPv4 and a usable (not tentative) IPv6 address on each side, and its cleanup removes all of it', async () => {
    const tag = 'c0ffe6';
    const ctx = rigTestContext(hostLimitsManifest, { tmpName: 'pair6' });
    try {
      const pair = await createNamespacePair(ctx, tag);
      expect([pair.addrA, pair.addrB, pair.addr6A, pair.addr6B]).toEqual([
        '10.123.0.1',
        '10.123.0.2',
        'fd7b::1',
        'fd7b::2',
      ]);
      const v6 = spawnSync('ip', ['-n', `cpr-${tag}-b`, '-6', 'addr', 'show', 'dev', `cpr-${tag}-bp`], {
        encoding: 'utf8',
      }).stdout;
      // The link-local address may still be tentative; the ULA must not be (a tentative address cannot be bound).
      expect(v6).toMatch(/inet6 fd7b::2\/64 scope global nodad\s*\n/);
      expect(v6).not.toMatch(/fd7b::2\/64 .*tentative/);
    } finally {
      expect(await ctx.runDeferred()).toEqual([]);
    }
    expect(leftovers(tag)).toEqual([]);
  });

  it('captures every contract metric into one valid file and leaves no namespace, link, file or process behind', () => {
    const out = tempDir('host-limits');
    const tmpBefore = new Set(readdirSync(tmpdir()));
    const run = spawnSync(
      process.execPath,
      ['packages/rigs/bin/coppice-rigs.js', 'run', 'host-limits', '--quick', '--out', out],
      {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { ...process.env, CI: 'true' },
        timeout: 60_000,
      },
    );
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const files = filesUnder(out);
    expect(files).toHaveLength(1);
    const data = resultFileSchema.parse(JSON.parse(readFileSync(join(out, files[0]!), 'utf8')));
    expect(data.rig.id).toBe('host-limits');
    expect(data.run.params.quick).toBe(true);
    const byMetric = new Map(data.series.map((s) => [s.metric, s]));
    expect([...byMetric.keys()].sort()).toEqual(hostLimitsManifest.metrics.map((m) => m.name).sort());
    for (const s of data.series) {
      expect(s.failures, s.metric).toEqual([]);
      expect(
        s.samples.every((x) => x > 0),
        s.metric,
      ).toBe(true);
    }
    expect(byMetric.get('sigcont-resume')!.samples).toHaveLength(hostLimitsManifest.samples.quick);
    expect(byMetric.get('firewall-spawn')!.samples).toHaveLength(hostLimitsManifest.samples.quick);
    expect(byMetric.get('namespace-rr')!.samples.length).toBeGreaterThanOrEqual(100);
    expect(data.run.params.namespaceRrPlacement).toBe('client on CPU 0, server on CPU 1'); // fakeHost is not used here: this host has 2+ CPUs
    expect(data.run.params.sockperfCommand).toMatch(/^taskset -c 0 sockperf ping-pong --tcp -i 10\.123\.0\.2 /);
    expect(byMetric.get('checkpoint-write')!.labels).toEqual({ size: '256MiB' });
    expect(byMetric.get('checkpoint-read')!.samples).toHaveLength(2);
    expect(data.host.tools.sockperf).toMatch(/sockperf/);
    const tag = /^cpr-([0-9a-f]{6})-a\b/.exec(String(data.run.params.namespaceRrEndpoints))?.[1];
    expect(tag).toBeDefined();
    expect(leftovers(tag!)).toEqual([]);
    const newInTmp = readdirSync(tmpdir()).filter(
      (n) => !tmpBefore.has(n) && /^(coppice-host-limits-|cpr-checkpoint-)/.test(n),
    );
    expect(newInTmp).toEqual([]);
  });
});
