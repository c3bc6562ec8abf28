import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resultFileSchema, type ResultFile } from '@coppice/results-schema';
import { fitResult, resultPath, serializeResult, writeResultFile } from '../../src/harness/result-file-writer.ts';
import { fakeHost, filesUnder, tempDir } from './helpers.ts';

function result(samples: number[] = [1, 2, 3]): ResultFile {
  return {
    schemaVersion: 1,
    rig: { id: 'tiny', script: 'packages/rigs/test/harness/fixtures/tiny.rig.ts', sourceSha256: 'a'.repeat(64) },
    run: {
      id: 'run-1',
      startedAt: '2026-11-28T19:51:02.123Z',
      finishedAt: '2026-11-28T19:51:04.000Z',
      git: { commit: 'b'.repeat(40), dirty: false },
      command: 'node packages/rigs/bin/coppice-rigs.js run tiny',
      params: { quick: true },
    },
    host: fakeHost,
    series: [{ metric: 'tick', unit: 'ms', labels: {}, samples, failures: [] }],
  };
}

describe('writeResultFile', () => {
  it('writes <out>/<rig>/<host>/<startedAt stamp>.json that parses back to the same data', async () => {
    const out = tempDir('writer');
    const path = await writeResultFile(out, result());
    expect(path).toBe(join(out, 'tiny/linux-test-cpu-2c-4g/20261128T195102Z.json'));
    expect(resultFileSchema.parse(JSON.parse(readFileSync(path, 'utf8')))).toEqual(result());
    expect(filesUnder(out)).toEqual(['tiny/linux-test-cpu-2c-4g/20261128T195102Z.json']);
  });

  it('validates the whole file before writing: an invalid file names the field and writes nothing', async () => {
    const out = tempDir('writer');
    const bad = result();
    bad.series[0]!.failures.push({ index: 9, error: 'x' });
    await expect(writeResultFile(out, bad)).rejects.toThrow(
      /series\.0\.failures\.0\.index: is 9, beyond the 4 attempts/,
    );
    const nan = result([1, Number.NaN]);
    await expect(writeResultFile(out, nan)).rejects.toThrow(/series\.0\.samples\.1/);
    expect(filesUnder(out)).toEqual([]);
  });

  it('never overwrites: a second write of the same run fails and leaves the first file and no temp file', async () => {
    const out = tempDir('writer');
    const path = await writeResultFile(out, result([1]));
    const before = readFileSync(path, 'utf8');
    await expect(writeResultFile(out, result([2]))).rejects.toThrow(/refusing to overwrite existing result/);
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(filesUnder(out)).toEqual(['tiny/linux-test-cpu-2c-4g/20261128T195102Z.json']);
  });

  it('an interruption before the file is published leaves neither the file nor its temp file', async () => {
    const out = tempDir('writer');
    const controller = new AbortController();
    controller.abort(new Error('received SIGTERM'));
    await expect(writeResultFile(out, result(), { signal: controller.signal })).rejects.toThrow('received SIGTERM');
    expect(filesUnder(out)).toEqual([]);
  });

  it('a failing write (target folder is a file) leaves no temp file behind', async () => {
    const out = tempDir('writer');
    mkdirSync(join(out, 'tiny'));
    writeFileSync(join(out, 'tiny', 'linux-test-cpu-2c-4g'), 'in the way');
    await expect(writeResultFile(out, result())).rejects.toThrow();
    expect(filesUnder(out)).toEqual(['tiny/linux-test-cpu-2c-4g']);
  });

  it('over the size limit, evenly subsamples the largest series and records it in run.params', async () => {
    const out = tempDir('writer');
    const big = result(Array.from({ length: 20_000 }, (_, i) => i + 0.123456));
    big.series.push({ metric: 'burst', unit: 'ms', labels: { cc: '3' }, samples: [5, 6], failures: [] });
    big.series[0]!.failures.push({ index: 19_999, error: 'last attempt failed' });
    const path = await writeResultFile(out, big, { maxBytes: 50_000 });
    const text = readFileSync(path, 'utf8');
    expect(text.length).toBeLessThanOrEqual(50_000);
    const data = resultFileSchema.parse(JSON.parse(text));
    const tick = data.series[0]!;
    expect(tick.samples.length).toBeLessThan(20_000);
    expect(tick.samples[0]).toBe(0.123456); // first and last kept, order kept
    expect(tick.samples.at(-1)).toBe(19_999.123456);
    expect(tick.failures).toHaveLength(1);
    expect(tick.failures[0]!.index).toBeLessThan(tick.samples.length + 1);
    expect(data.series[1]!.samples).toEqual([5, 6]);
    expect(data.run.params.subsampled).toEqual([
      { metric: 'tick', labels: {}, recorded: 20_000, kept: tick.samples.length },
    ]);
  });
});

describe('serializeResult / fitResult / resultPath', () => {
  it('puts each samples array on one line', () => {
    expect(serializeResult(result([1.5, 2, -3e-7]))).toContain('"samples": [1.5,2,-3e-7]');
  });

  it('leaves a file under the limit untouched', () => {
    const r = result();
    expect(fitResult(r, 1_000_000)).toBe(r);
  });

  it('files by rig, host and the start time to the second', () => {
    expect(resultPath('/o', result())).toBe('/o/tiny/linux-test-cpu-2c-4g/20261128T195102Z.json');
  });
});
