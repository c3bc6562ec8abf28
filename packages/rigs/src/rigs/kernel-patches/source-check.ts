/**
 * One patch of patches/ against a FreeBSD source tree: where each touched file stands against the pin (by git blob
 * id), and whether the patch applies to a copy of those files (`git apply --check`) or is already applied (it
 * applies in reverse). The tree itself is only read.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CommandRunner } from '@coppice/runtime';
import { fileState, type FileState, type PatchPin } from './pinned-source.ts';

export type Application = 'applies' | 'already-applied' | 'does-not-apply';

export interface PatchReport {
  patch: PatchPin['patch'];
  /** Per touched file (path relative to the tree). */
  files: Record<string, FileState>;
  application: Application;
  /** git apply's complaint when the patch applies neither way. */
  applyError?: string;
}

async function readIfPresent(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function checkPatch(
  runner: CommandRunner,
  o: { pin: PatchPin; srcRoot: string; patchFile: string; workDir: string },
): Promise<PatchReport> {
  const copy = join(o.workDir, o.pin.patch.replace(/\.diff$/, ''));
  const files: Record<string, FileState> = {};
  for (const f of o.pin.files) {
    const content = await readIfPresent(join(o.srcRoot, f.path));
    files[f.path] = fileState(f, content);
    if (content === undefined) continue;
    await mkdir(dirname(join(copy, f.path)), { recursive: true });
    await writeFile(join(copy, f.path), content);
  }
  await mkdir(copy, { recursive: true });
  // git must not take the copy for part of a repository above it: paths would then be relative to that repository.
  const env = { GIT_CEILING_DIRECTORIES: dirname(copy) };
  const forward = await runner.run(['git', 'apply', '--check', o.patchFile], { cwd: copy, env });
  if (forward.code === 0) return { patch: o.pin.patch, files, application: 'applies' };
  const reverse = await runner.run(['git', 'apply', '--check', '--reverse', o.patchFile], { cwd: copy, env });
  if (reverse.code === 0) return { patch: o.pin.patch, files, application: 'already-applied' };
  return {
    patch: o.pin.patch,
    files,
    application: 'does-not-apply',
    applyError: (forward.stderr || forward.stdout).trim().split('\n').slice(0, 3).join(' | '),
  };
}

/** Every touched file is upstream's or the patched one, all of one kind: the tree is the pinned one. */
export function pinnedTree(report: PatchReport): boolean {
  const states = new Set(Object.values(report.files));
  return states.size === 1 && (states.has('upstream') || states.has('patched'));
}

export function describeReport(r: PatchReport): string {
  const off = Object.entries(r.files).filter(([, s]) => s === 'other' || s === 'missing');
  const files =
    off.length === 0
      ? 'touched files as pinned'
      : `not as pinned: ${off.map(([p, s]) => `${p} (${s === 'missing' ? 'missing' : 'other blob'})`).join(', ')}`;
  const applied =
    r.application === 'does-not-apply'
      ? `does not apply: ${r.applyError}`
      : r.application === 'applies'
        ? 'applies (git apply --check)'
        : 'already applied (applies in reverse)';
  return `${r.patch}: ${files}; ${applied}`;
}
