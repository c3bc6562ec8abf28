import { mkdtempSync, readdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll } from 'vitest';
import type { HostInfo, RigManifest } from '@coppice/results-schema';
import { ProcessRunner, type CommandRunner } from '@coppice/runtime';
import { ChildProcesses } from '../../src/harness/child-processes.ts';
import { HarnessContext } from '../../src/harness/rig-context-impl.ts';
import { Progress } from '../../src/harness/progress.ts';
import { findRepoRoot } from '../../src/harness/repo-root.ts';
import { runRig, type RunRigOptions } from '../../src/harness/run-rig.ts';

export const repoRoot = findRepoRoot();

export const fakeHost: HostInfo = {
  id: 'linux-test-cpu-2c-4g',
  platform: 'linux',
  os: 'Test OS 1',
  kernel: '6.1.0-test',
  cpu: { model: 'Test CPU', cores: 2, threads: 2 },
  memoryBytes: 4 * 1024 ** 3,
  backend: { hypervisor: 'qemu-tcg', firewall: 'nftables' },
  facts: { virtualization: 'vm: none' },
  tools: { node: process.version },
};

const made: string[] = [];
// Every temp folder a test file made is removed when that file's tests are done.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp folder with a readable prefix, removed after the test file. */
export function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `coppice-test-${name}-`));
  made.push(dir);
  return dir;
}

/** Every file under a folder (recursively), hidden ones included, relative to it. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

export function markerLines(markers: string, name: string): string[] {
  const file = join(markers, name);
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function captureStream(isTTY = false) {
  const chunks: string[] = [];
  return { isTTY, write: (s: string) => chunks.push(s), text: () => chunks.join('') };
}

/** runRig with test defaults: this host's platform as Linux root with every binary, a fixed host record. */
export function runTestRig(manifest: RigManifest, outDir: string, overrides: Partial<RunRigOptions> = {}) {
  const log = captureStream();
  return {
    log,
    outcome: runRig({
      manifest,
      outDir,
      quick: true,
      repoRoot,
      runner: new ProcessRunner(),
      capabilities: { platform: 'linux', root: true, hasBinary: () => true },
      host: async () => fakeHost,
      progress: new Progress(log, { mode: 'plain' }),
      signal: new AbortController().signal,
      command: 'node packages/rigs/bin/coppice-rigs.js run test',
      ...overrides,
    }),
  };
}

/** A quick-mode rig context for calling a rig's pieces directly (real commands unless `runner` says otherwise). */
export function rigTestContext(
  manifest: RigManifest,
  o: { runner?: CommandRunner; host?: HostInfo; tmpName?: string } = {},
): HarnessContext {
  return new HarnessContext({
    manifest,
    quick: true,
    runner: o.runner ?? new ProcessRunner(),
    host: o.host ?? fakeHost,
    progress: new Progress(captureStream(), { mode: 'plain' }),
    children: new ChildProcesses(),
    signal: new AbortController().signal,
    tmpdir: tempDir(o.tmpName ?? manifest.id),
    repoRoot,
  });
}
