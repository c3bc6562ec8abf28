/**
 * The e2b-compat rig in quick mode through the real CLI, on the Debian templates: the official e2b and
 * @e2b/code-interpreter SDKs against a gateway on the real runtime, every call class a named check. Every check
 * must pass, and the run must leave no VM memory file or network namespace behind.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUEST_TEMPLATES_ENABLED } from '../../src/lib/pools/template-gate.ts';
import { filesUnder, repoRoot, tempDir } from '../harness/helpers.ts';

const BIN = join(repoRoot, 'packages/rigs/bin/coppice-rigs.js');
const isRoot = process.getuid?.() === 0;

/** VM and checkpoint memory files in tmpfs, but the template cache's (kept on purpose for the next run to clone). */
function shmFiles(): string[] {
  return readdirSync('/dev/shm', { recursive: true, encoding: 'utf8' }).filter(
    (f) => f.endsWith('.mem') && !/(^|\/)coppice-ckpt-cache-/.test(f),
  );
}

describe.skipIf(!isRoot || !GUEST_TEMPLATES_ENABLED)('coppice-rigs run e2b-compat --quick', () => {
  const out = tempDir('e2b-compat');

  it(
    'passes every SDK check and leaves no VM memory behind',
    () => {
      const shmBefore = new Set(shmFiles());
      const run = spawnSync(process.execPath, [BIN, 'run', 'e2b-compat', '--quick', '--out', out], {
        encoding: 'utf8',
        env: { ...process.env, CI: 'true' },
        timeout: 15 * 60_000,
      });
      expect(run.stdout + run.stderr).toContain('1 captured, 0 skipped, 0 failed');
      const files = filesUnder(out);
      expect(files).toHaveLength(1);
      const { checks } = JSON.parse(readFileSync(join(out, files[0]!), 'utf8')) as {
        checks: Array<{ name: string; ok: boolean; detail: string }>;
      };
      expect(checks.length).toBeGreaterThanOrEqual(30);
      expect(checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`)).toEqual([]);
      expect(shmFiles().filter((f) => !shmBefore.has(f))).toEqual([]);
    },
    20 * 60_000,
  );
});
