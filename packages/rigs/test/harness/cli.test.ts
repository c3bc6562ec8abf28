import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { CliEnv } from '../../src/cli/catalog.ts';
import { elsewhere, picky, testManifests, tiny } from './fixtures/manifests.ts';
import { captureStream, filesUnder, isAlive, markerLines, repoRoot, tempDir } from './helpers.ts';

function cli(args: string[], overrides: Partial<CliEnv> = {}) {
  const stdout = captureStream();
  const stderr = captureStream();
  const controller = new AbortController();
  const status = main(args, {
    manifests: testManifests,
    platform: 'linux',
    root: true,
    stdout,
    stderr,
    env: { PATH: process.env.PATH, CI: 'true' },
    argv: ['/usr/bin/node', join(repoRoot, 'packages/rigs/bin/coppice-rigs.js'), ...args],
    interrupts: () => ({ signal: controller.signal, exitCode: () => undefined, dispose: () => {} }),
    ...overrides,
  });
  return { status, stdout, stderr };
}

describe('coppice-rigs list', () => {
  it('lists every rig with its platforms and whether this host can run it, or why not', async () => {
    const { status, stdout } = cli(['list']);
    expect(await status).toBe(0);
    const lines = stdout.text().split('\n');
    expect(lines[0]).toMatch(/^rig\s+platforms\s+runs here \(linux, root\)$/);
    expect(lines.find((l) => l.startsWith('tiny '))).toMatch(/^tiny\s+linux,freebsd\s+yes$/);
    expect(lines.find((l) => l.startsWith('picky '))).toMatch(/no: needs the frobnicator \(checked on linux\)$/);
    expect(lines.find((l) => l.startsWith('elsewhere '))).toMatch(
      /freebsd\s+no: runs on freebsd only; this host is linux$/,
    );
    expect(lines.find((l) => l.startsWith('demanding '))).toMatch(
      /no: needs coppice-no-such-tool on PATH \(not found\)$/,
    );
  });

  it('says "needs root" when not root', async () => {
    const { status, stdout } = cli(['list', '--json'], { root: false });
    expect(await status).toBe(0);
    const rows = JSON.parse(stdout.text()) as { id: string; ok: boolean; reason?: string }[];
    expect(rows.find((r) => r.id === 'demanding')?.reason).toBe(
      'needs root; needs coppice-no-such-tool on PATH (not found)',
    );
  });
});

describe('coppice-rigs run', () => {
  it('runs the named rigs one at a time, prints the summary table and exits 0 when none failed', async () => {
    const out = tempDir('cli');
    const markers = tempDir('markers');
    process.env.COPPICE_TEST_MARKERS = markers;
    const { status, stdout, stderr } = cli(['run', 'tiny', 'picky', '--quick', '--out', out]);
    expect(await status).toBe(0);
    const files = filesUnder(out);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^tiny\/linux-[a-z0-9-]+-\d+c-\d+g\/\d{8}T\d{6}Z\.json$/);
    const data = JSON.parse(readFileSync(join(out, files[0]!), 'utf8'));
    expect(data.run.command).toBe(`node packages/rigs/bin/coppice-rigs.js run tiny picky --quick --out ${out}`);
    expect(data.host.tools.node).toBe(process.version);
    const summary = stdout.text();
    expect(summary).toMatch(new RegExp(`tiny\\s+captured\\s+${join(out, files[0]!)}`));
    expect(summary).toMatch(/picky\s+skipped\s+needs the frobnicator \(checked on linux\)/);
    expect(summary).toContain('1 captured, 1 skipped, 0 failed');
    expect(stderr.text()).toContain('[tiny] ticks 3/3');
  });

  it('with no rig named, runs every registered rig, skipping what this host cannot run', async () => {
    const out = tempDir('cli');
    process.env.COPPICE_TEST_MARKERS = tempDir('markers');
    const { status, stdout } = cli(['run', '--quick', '--out', out], { manifests: [tiny, elsewhere, picky] });
    expect(await status).toBe(0);
    const rows = stdout
      .text()
      .split('\n')
      .filter((l) => /^(tiny|elsewhere|picky) /.test(l));
    expect(rows.map((r) => r.split(/\s+/).slice(0, 2).join(' '))).toEqual([
      'tiny captured',
      'elsewhere skipped',
      'picky skipped',
    ]);
    expect(filesUnder(out)).toHaveLength(1);
  });

  it('exits 1 when a rig failed, and reports why in the summary', async () => {
    const out = tempDir('cli');
    process.env.COPPICE_TEST_MARKERS = tempDir('markers');
    const { status, stdout } = cli(['run', 'broken', 'elsewhere', '--out', out]);
    expect(await status).toBe(1);
    expect(stdout.text()).toMatch(/broken\s+failed\s+boom at step 2/);
    expect(stdout.text()).toMatch(/elsewhere\s+skipped\s+runs on freebsd only; this host is linux/);
    expect(filesUnder(out)).toEqual([]);
  });

  it('rejects an unknown rig id with exit 2 and runs nothing', async () => {
    const out = tempDir('cli');
    const { status, stderr } = cli(['run', 'tiny', 'nosuch', '--out', out]);
    expect(await status).toBe(2);
    expect(stderr.text()).toContain('unknown rig "nosuch" (known: tiny, broken,');
    expect(filesUnder(out)).toEqual([]);
  });
});

describe('coppice-rigs verify', () => {
  it('re-validates a tree and recomputes each summary; a broken file fails with its path and field', async () => {
    const out = tempDir('cli');
    process.env.COPPICE_TEST_MARKERS = tempDir('markers');
    expect(await cli(['run', 'tiny', '--quick', '--out', out]).status).toBe(0);
    const ok = cli(['verify', out]);
    expect(await ok.status).toBe(0);
    expect(ok.stdout.text()).toContain('1 valid result file(s)');
    expect(ok.stdout.text()).toMatch(/tick \[ms\]: n=3 mean=/);
    expect(ok.stdout.text()).toMatch(/burst\{cc=3\} \[ms\]: n=2 mean=3 p50=3 .*, 1 failed/);

    const [file] = filesUnder(out);
    const path = join(out, file!);
    const data = JSON.parse(readFileSync(path, 'utf8'));
    data.series[0].unit = 's';
    writeFileSync(path, JSON.stringify(data));
    const bad = cli(['verify', out]);
    expect(await bad.status).toBe(1);
    expect(bad.stderr.text()).toContain(`${file}: series[0].unit: is "s", the manifest says "ms"`);

    delete data.host;
    writeFileSync(path, JSON.stringify(data));
    const worse = cli(['verify', out]);
    expect(await worse.status).toBe(1);
    expect(worse.stderr.text()).toContain(`${file}: host: is required but missing`);
  });
});

/** The CLI with the test rigs as a real process (fixtures/cli.ts), its stdout and stderr collected. */
function spawnFixtureCli(args: string[], markers: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/harness/fixtures/cli.ts', ...args], {
    cwd: join(repoRoot, 'packages/rigs'),
    env: { ...process.env, COPPICE_TEST_MARKERS: markers, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (b) => (output += b));
  child.stderr.on('data', (b) => (output += b));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, output: () => output };
}

/** Waits until a rig of the fixture CLI has written its helper's pid; returns that pid. */
async function helperOf(rig: string, markers: string, output: () => string): Promise<number> {
  const deadline = Date.now() + 20_000;
  while (markerLines(markers, `${rig}-helper`).length === 0) {
    if (Date.now() > deadline) throw new Error(`rig never started:\n${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Number(markerLines(markers, `${rig}-helper`)[0]);
}

/** `run RIG` as a real process, started once the rig has written its helper's pid. */
async function startCli(rig: string, out: string, markers: string) {
  const cli = spawnFixtureCli(['run', rig, '--out', out], markers);
  return { ...cli, helper: await helperOf(rig, markers, cli.output) };
}

function newTempEntries(before: Set<string>, rig: string): string[] {
  return readdirSync(tmpdir()).filter((n) => n.startsWith(`coppice-${rig}-`) && !before.has(n));
}

describe('coppice-rigs run, interrupted or crashing (a real process)', () => {
  it('SIGINT: runs the cleanups, ends the helper, writes no file and no temp file, exits 130', async () => {
    const out = tempDir('cli');
    const markers = tempDir('markers');
    const tmpBefore = new Set(readdirSync(tmpdir()));
    const cli = await startCli('hangs', out, markers);
    expect(isAlive(cli.helper)).toBe(true);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(130);
    expect(cli.output()).toMatch(/hangs\s+failed\s+interrupted \(received SIGINT\)/);
    expect(markerLines(markers, 'hangs-deferred')).toHaveLength(1);
    expect(isAlive(cli.helper)).toBe(false);
    expect(filesUnder(out)).toEqual([]);
    expect(newTempEntries(tmpBefore, 'hangs')).toEqual([]);
  });

  it('SIGTERM: the same, exit 143', async () => {
    const out = tempDir('cli');
    const markers = tempDir('markers');
    const cli = await startCli('hangs', out, markers);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(143);
    expect(markerLines(markers, 'hangs-deferred')).toHaveLength(1);
    expect(isAlive(cli.helper)).toBe(false);
    expect(filesUnder(out)).toEqual([]);
  });

  it('an uncaught exception in a rig: cleanups still run, nothing left running or written, exit 1', async () => {
    const out = tempDir('cli');
    const markers = tempDir('markers');
    const tmpBefore = new Set(readdirSync(tmpdir()));
    const cli = await startCli('crashes', out, markers);
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toMatch(/crashes\s+failed\s+interrupted \(uncaught exception: async crash\)/);
    expect(markerLines(markers, 'crashes-deferred')).toHaveLength(1);
    expect(isAlive(cli.helper)).toBe(false);
    expect(filesUnder(out)).toEqual([]);
    expect(newTempEntries(tmpBefore, 'crashes')).toEqual([]);
  });
});

describe('coppice-rigs run with several rigs (a real process)', () => {
  it('runs each rig in a process of its own, records the command the user typed, and sums up all outcomes', async () => {
    const out = tempDir('cli');
    const markers = tempDir('markers');
    const run = spawnFixtureCli(['run', 'tiny', 'broken', '--quick', '--out', out], markers);
    expect(await run.exited).toBe(1); // broken fails
    const [tinyPid] = markerLines(markers, 'tiny-process');
    const [brokenPid] = markerLines(markers, 'broken-process');
    expect(tinyPid).toBeDefined();
    expect(brokenPid).toBeDefined();
    expect(new Set([tinyPid, brokenPid, String(run.child.pid)]).size).toBe(3);
    expect(run.output()).toMatch(/tiny\s+captured/);
    expect(run.output()).toMatch(/broken\s+failed\s+boom at step 2/);
    const files = filesUnder(out);
    expect(files).toHaveLength(1);
    const data = JSON.parse(readFileSync(join(out, files[0]!), 'utf8'));
    expect(data.run.command).toBe(
      `node packages/rigs/test/harness/fixtures/cli.ts run tiny broken --quick --out ${out}`,
    );
    expect(markerLines(markers, 'broken-deferred')).toHaveLength(1);
  });

  it('SIGTERM to the parent alone reaches the running rig: its cleanups run, the rest is not run, exit 143', async () => {
    const out = tempDir('cli');
    const markers = tempDir('markers');
    const run = spawnFixtureCli(['run', 'hangs', 'tiny', '--out', out], markers);
    const helper = await helperOf('hangs', markers, run.output);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(143);
    expect(markerLines(markers, 'hangs-deferred')).toHaveLength(1);
    expect(isAlive(helper)).toBe(false);
    expect(run.output()).toMatch(/tiny\s+failed\s+not run: the run was interrupted/);
    expect(markerLines(markers, 'tiny-process')).toHaveLength(0);
    expect(filesUnder(out)).toEqual([]);
  });
});
