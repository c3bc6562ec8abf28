import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { resultFileSchema } from '@coppice/results-schema';
import { broken, demanding, elsewhere, hangs, picky, silent, stray, tiny } from './fixtures/manifests.ts';
import { filesUnder, isAlive, markerLines, runTestRig, tempDir } from './helpers.ts';

let out: string;
let markers: string;
beforeEach(() => {
  out = tempDir('out');
  markers = tempDir('markers');
  process.env.COPPICE_TEST_MARKERS = markers;
});

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('runRig: a rig that completes', () => {
  it('writes one schema-valid file at <out>/<rig>/<host>/<stamp>.json with the raw samples and provenance', async () => {
    const { outcome } = runTestRig(tiny, out);
    const result = await outcome;
    expect(result.status).toBe('captured');
    const files = filesUnder(out);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^tiny\/linux-test-cpu-2c-4g\/\d{8}T\d{6}Z\.json$/);
    const data = resultFileSchema.parse(JSON.parse(readFileSync(join(out, files[0]!), 'utf8')));
    expect(data.rig.script).toBe('packages/rigs/test/harness/fixtures/tiny.rig.ts');
    expect(data.rig.sourceSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(data.run.params).toEqual({
      quick: true,
      note: 'set by tiny',
      loadAverage1m: { start: expect.any(Number), end: expect.any(Number) },
    });
    expect(data.run.command).toBe('node packages/rigs/bin/coppice-rigs.js run test');
    expect(data.run.git.commit).toMatch(/^[0-9a-f]{40}$/);
    const tick = data.series.find((s) => s.metric === 'tick')!;
    expect(tick.samples).toHaveLength(3); // quick: 3 recorded, the warm-up run is not
    expect(tick.unit).toBe('ms');
    const burst = data.series.find((s) => s.metric === 'burst')!;
    expect(burst.labels).toEqual({ cc: '3' });
    // All three requests had started before any finished (each returns how many had started), request 1 failed.
    expect(burst.samples).toEqual([3, 3]);
    expect(burst.failures).toEqual([{ index: 1, error: 'request 1 failed on purpose' }]);
  });

  it('runs the deferred cleanups last-registered first and ends the helper it spawned', async () => {
    await runTestRig(tiny, out).outcome;
    expect(markerLines(markers, 'tiny-deferred')).toEqual(['second', 'first']);
    const pid = Number(markerLines(markers, 'tiny-helper')[0]);
    await until(() => !isAlive(pid));
  });
});

describe('runRig: skips with the exact reason and writes nothing', () => {
  it('on the wrong platform', async () => {
    const result = await runTestRig(elsewhere, out).outcome;
    expect(result).toEqual({ rig: 'elsewhere', status: 'skipped', reason: 'runs on freebsd only; this host is linux' });
    expect(filesUnder(out)).toEqual([]);
  });

  it('without root, and with a binary missing from PATH', async () => {
    const result = await runTestRig(demanding, out, {
      capabilities: { platform: 'linux', root: false, hasBinary: (b) => b === 'sh' },
    }).outcome;
    expect(result).toEqual({
      rig: 'demanding',
      status: 'skipped',
      reason: 'needs root; needs coppice-no-such-tool on PATH (not found)',
    });
    expect(filesUnder(out)).toEqual([]);
  });

  it("when the rig's own preflight refuses", async () => {
    const result = await runTestRig(picky, out).outcome;
    expect(result).toEqual({ rig: 'picky', status: 'skipped', reason: 'needs the frobnicator (checked on linux)' });
    expect(filesUnder(out)).toEqual([]);
  });
});

describe('runRig: a failure leaves no file and nothing running', () => {
  it('when the rig throws: failed with its message, cleanups run, helper ended, no file or temp file', async () => {
    const result = await runTestRig(broken, out).outcome;
    expect(result.status).toBe('failed');
    expect(result.status === 'failed' && result.reason).toBe('boom at step 2');
    expect(markerLines(markers, 'broken-deferred')).toHaveLength(1);
    const pid = Number(markerLines(markers, 'broken-helper')[0]);
    await until(() => !isAlive(pid));
    expect(filesUnder(out)).toEqual([]);
  });

  it('when interrupted mid-run: failed as interrupted, cleanups run, helper ended, nothing written', async () => {
    const controller = new AbortController();
    const { outcome } = runTestRig(hangs, out, { signal: controller.signal });
    await until(() => markerLines(markers, 'hangs-helper').length > 0);
    const pid = Number(markerLines(markers, 'hangs-helper')[0]);
    expect(isAlive(pid)).toBe(true);
    controller.abort(new Error('received SIGINT'));
    const result = await outcome;
    expect(result).toMatchObject({ rig: 'hangs', status: 'failed', reason: 'interrupted (received SIGINT)' });
    expect(markerLines(markers, 'hangs-deferred')).toHaveLength(1);
    expect(isAlive(pid)).toBe(false);
    expect(filesUnder(out)).toEqual([]);
  });

  it('when the rig records a metric its manifest does not declare', async () => {
    const result = await runTestRig(stray, out).outcome;
    expect(result.status === 'failed' && result.reason).toBe(
      'rig stray has no metric "tock" in its manifest (known: tick, burst)',
    );
    expect(filesUnder(out)).toEqual([]);
  });

  it('when the rig records nothing at all', async () => {
    const result = await runTestRig(silent, out).outcome;
    expect(result.status === 'failed' && result.reason).toBe('the rig recorded no series and no checks');
    expect(filesUnder(out)).toEqual([]);
  });

  it('when the host record is invalid: the schema rejects the file before anything is written', async () => {
    const result = await runTestRig(tiny, out, {
      host: async () => ({ ...(await import('./helpers.ts')).fakeHost, id: 'Not A Slug' }),
    }).outcome;
    expect(result.status).toBe('failed');
    expect(result.status === 'failed' && result.reason).toContain('result file is invalid, not written');
    expect(result.status === 'failed' && result.reason).toContain('host.id');
    expect(filesUnder(out)).toEqual([]);
  });
});
