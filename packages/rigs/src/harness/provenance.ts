import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { relative, isAbsolute } from 'node:path';
import type { HostInfo } from '@coppice/results-schema';
import type { CommandRunner } from '@coppice/runtime';
import { gatherHostFacts } from '@coppice/runtime/host';
import type { HostPlatform } from '@coppice/runtime/host';
import { deriveHostId } from './host-id.ts';
import { shellQuote } from './shell-quote.ts';

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** HEAD and whether the working tree differs from it (tracked or untracked changes). */
export async function gitState(runner: CommandRunner, repoRoot: string): Promise<{ commit: string; dirty: boolean }> {
  const head = await runner.run(['git', '-C', repoRoot, 'rev-parse', 'HEAD']).catch(() => undefined);
  if (!head || head.code !== 0) return { commit: 'unknown (not a git checkout)', dirty: true };
  const status = await runner.run(['git', '-C', repoRoot, 'status', '--porcelain']);
  return { commit: head.stdout.trim(), dirty: status.code !== 0 || status.stdout.trim().length > 0 };
}

/** Host provenance as a result file records it: facts from the runtime plus the host id. */
export async function hostInfo(
  runner: CommandRunner,
  platform: HostPlatform,
  tools: readonly string[],
  env: Record<string, string | undefined> = process.env,
): Promise<HostInfo> {
  const facts = await gatherHostFacts(runner, { platform, tools });
  return { id: deriveHostId(facts, env), ...facts };
}

/**
 * The command line as a reader would retype it: `node <script> args...`, the script relative to the repo root when
 * it lies inside it, each word quoted for a POSIX shell when needed.
 */
export function commandLine(argv: readonly string[], repoRoot: string): string {
  const [, script, ...args] = argv;
  const words = ['node'];
  if (script !== undefined) {
    const rel = relative(repoRoot, script);
    words.push(isAbsolute(script) && !rel.startsWith('..') && !isAbsolute(rel) ? rel : script);
  }
  return [...words, ...args].map(shellQuote).join(' ');
}
