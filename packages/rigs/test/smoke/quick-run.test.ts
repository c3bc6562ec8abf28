/**
 * Every rig this host can run, end to end in quick mode, through the real CLI: the only test that shows the rigs
 * still measure after a change to the runtime they drive. It writes into a temporary folder (never
 * benchmarks/results), then `verify` re-reads what was written, and the host must be left as it was found.
 * The Debian templates are off here (COPPICE_GUEST_TEMPLATES=0): with them the quick run of every rig takes over
 * 20 minutes on this 2-core machine. e2b-compat-quick.test.ts runs the template rig the issues name.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manifests } from '../../src/manifests.ts';
import { filesUnder, repoRoot, tempDir } from '../harness/helpers.ts';

const BIN = join(repoRoot, 'packages/rigs/bin/coppice-rigs.js');
const isRoot = process.getuid?.() === 0;

function coppiceShm(): string[] {
  return readdirSync('/dev/shm').filter((f) => f.startsWith('coppice-'));
}

function netnsNames(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}

describe.skipIf(!isRoot)('coppice-rigs run --quick (every rig, for real)', () => {
  const out = tempDir('smoke');

  it(
    'captures every Linux rig, writes files that verify, and leaves no VM memory file or namespace behind',
    () => {
      const shmBefore = new Set(coppiceShm());
      const netnsBefore = new Set(netnsNames());
      const run = spawnSync(process.execPath, [BIN, 'run', '--quick', '--out', out], {
        encoding: 'utf8',
        env: { ...process.env, CI: 'true', COPPICE_GUEST_TEMPLATES: '0' },
        timeout: 20 * 60_000,
      });
      // Rigs for other platforms only (kernel-patches: FreeBSD) are skipped with the platform as the reason, and the
      // rigs that need the Debian templates, off here (lib/pools/template-gate.ts).
      const templateRigs = ['e2b-compat', 'e2b-latency', 'guest-exec'];
      const linuxRigs = manifests
        .filter((m) => m.platforms.includes('linux') && !templateRigs.includes(m.id))
        .map((m) => m.id);
      const otherPlatformRigs = manifests.length - linuxRigs.length;
      expect(run.stdout + run.stderr).toContain(`${linuxRigs.length} captured, ${otherPlatformRigs} skipped, 0 failed`);
      expect(run.status).toBe(0);
      const rigsWithFiles = new Set(filesUnder(out).map((f) => f.split('/')[0]));
      expect([...rigsWithFiles].sort()).toEqual([...linuxRigs].sort());

      const verify = spawnSync(process.execPath, [BIN, 'verify', out], { encoding: 'utf8' });
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);

      expect(coppiceShm().filter((f) => !shmBefore.has(f))).toEqual([]);
      expect(netnsNames().filter((n) => !netnsBefore.has(n))).toEqual([]);
    },
    25 * 60_000,
  );
});
