import { ProcessRunner } from '@coppice/runtime';
import { detectPlatform, isRoot } from '@coppice/runtime/host';
import { manifests } from '../manifests.ts';
import { findRepoRoot } from '../harness/repo-root.ts';
import type { CliEnv } from './catalog.ts';
import { installInterrupts } from './interrupts.ts';
import { listCommand } from './list.ts';
import { runCommand } from './run.ts';
import { UsageError } from './usage-error.ts';
import { verifyCommand } from './verify.ts';

const usage = `usage: coppice-rigs <command>
  list                                   rigs, platforms, and whether this host can run each (and why not)
  run [<id>...] [--quick] [--out DIR]    run rigs (default: every rig this host can run), write result files
                                         (default DIR: <repo>/benchmarks/results)
  verify [DIR]                           re-validate a results tree and recompute every summary`;

/** The CLI with everything it touches injectable; returns the exit status. */
export async function main(argv: readonly string[], overrides: Partial<CliEnv> = {}): Promise<number> {
  const env: CliEnv = {
    manifests,
    repoRoot: findRepoRoot(),
    runner: new ProcessRunner(),
    platform: detectPlatform(),
    root: isRoot(),
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    argv: process.argv,
    interrupts: () => installInterrupts((m) => process.stderr.write(`\n${m}\n`)),
    ...overrides,
  };
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'list':
        return await listCommand(rest, env);
      case 'run':
        return await runCommand(rest, env);
      case 'verify':
        return await verifyCommand(rest, env);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        env.stdout.write(`${usage}\n`);
        return command === undefined ? 2 : 0;
      default:
        env.stderr.write(`coppice-rigs: unknown command "${command}"\n${usage}\n`);
        return 2;
    }
  } catch (e) {
    if (e instanceof UsageError) {
      env.stderr.write(`coppice-rigs ${command}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
