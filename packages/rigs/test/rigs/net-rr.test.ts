import { describe, expect, it } from 'vitest';
import type { RrPath, RrServer } from '../../src/lib/rr/rr-path.ts';
import { netRrManifest } from '../../src/rigs/net-rr/manifest.ts';
import { measurePaired, pairedOrder, type RrTool } from '../../src/rigs/net-rr/paired-blocks.ts';
import { rigTestContext } from '../harness/helpers.ts';

function context() {
  return rigTestContext(netRrManifest);
}

const path = (address: string): RrPath => ({
  clientExec: [],
  serverExec: [],
  address,
  port: 1,
  placement: { client: 0, server: 1 },
});
const paths = { sandbox: path('sandbox'), bare: path('bare') };

/** A tool that records what it was asked to do; block i of a path returns [i] so the concatenation order shows. */
function recordingTool(failAtBlock?: number) {
  const events: string[] = [];
  let block = 0;
  const tool: RrTool = {
    name: 'fake',
    async start(p) {
      events.push(`start ${p.address}`);
      const server: RrServer = { check() {}, stop: () => void events.push(`stop ${p.address}`) };
      return server;
    },
    async run(p, _server, seconds, log) {
      const i = block++;
      if (i === failAtBlock) throw new Error(`block ${i} failed`);
      events.push(`run ${p.address} ${seconds}s ${log}`);
      return [i];
    },
  };
  return { tool, events };
}

describe('net-rr paired blocks', () => {
  it('pairs sandbox and bare blocks in A B B A order, each path at every position of the cycle equally often', () => {
    expect(pairedOrder(1)).toEqual(['sandbox', 'bare']);
    expect(pairedOrder(4)).toEqual(['sandbox', 'bare', 'bare', 'sandbox', 'sandbox', 'bare', 'bare', 'sandbox']);
    expect(() => pairedOrder(0)).toThrow(/positive integer, got 0/);
  });

  it('starts both servers once, runs the blocks in the given order, concatenates each path in run order, stops both', async () => {
    const { tool, events } = recordingTool();
    const got = await measurePaired(context(), 'rtt-ipv4', tool, paths, pairedOrder(2), 2);
    expect(got.rtts).toEqual({ sandbox: [0, 3], bare: [1, 2] });
    expect(got.blocks).toEqual([
      { path: 'sandbox', transactions: 1, p50: 0 },
      { path: 'bare', transactions: 1, p50: 1 },
      { path: 'bare', transactions: 1, p50: 2 },
      { path: 'sandbox', transactions: 1, p50: 3 },
    ]);
    expect(events).toEqual([
      'start sandbox',
      'start bare',
      'run sandbox 2s rtt-ipv4-sandbox-0.log',
      'run bare 2s rtt-ipv4-bare-1.log',
      'run bare 2s rtt-ipv4-bare-2.log',
      'run sandbox 2s rtt-ipv4-sandbox-3.log',
      'stop sandbox',
      'stop bare',
    ]);
  });

  it('a block that fails stops both servers and the error reaches the rig', async () => {
    const { tool, events } = recordingTool(1);
    await expect(measurePaired(context(), 'rtt-ipv6', tool, paths, pairedOrder(2), 1)).rejects.toThrow(
      /block 1 failed/,
    );
    expect(events.filter((e) => e.startsWith('stop'))).toEqual(['stop sandbox', 'stop bare']);
  });

  it('a server that fails to start leaves the one already started stopped', async () => {
    const { tool, events } = recordingTool();
    const failing: RrTool = {
      ...tool,
      start: async (p) =>
        p.address === 'bare' ? Promise.reject(new Error('bare server did not start')) : tool.start(p),
    };
    await expect(measurePaired(context(), 'x', failing, paths, pairedOrder(1), 1)).rejects.toThrow(
      /bare server did not start/,
    );
    expect(events).toEqual(['start sandbox', 'stop sandbox']);
  });

  it('the manifest names the sandbox series, its paired bare floor and the same-CPU series', () => {
    const metric = (name: string) => netRrManifest.metrics.find((m) => m.name === name);
    expect(metric('rtt')).toMatchObject({ unit: 'us', labels: { family: ['ipv4', 'ipv6'] } });
    expect(metric('bare-rtt')).toMatchObject({ unit: 'us', labels: { family: ['ipv4', 'ipv6'] } });
    expect(metric('same-cpu-rtt')).toMatchObject({ unit: 'us', labels: { path: ['sandbox', 'bare'] } });
    expect(netRrManifest.requirements.binaries.linux).toContain('taskset');
    expect(netRrManifest.requirements.binaries.freebsd).toContain('cpuset');
  });
});
