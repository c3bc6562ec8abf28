import type { RigManifest } from '@coppice/results-schema';
import type { CommandRunner } from '@coppice/runtime';
import type { HostPlatform } from '@coppice/runtime/host/platform.ts';
import type { ProgressStream } from '../harness/progress.ts';

/** What the CLI works with; tests substitute their own rigs, streams and folders. */
export interface CliEnv {
  manifests: readonly RigManifest[];
  repoRoot: string;
  runner: CommandRunner;
  platform: HostPlatform;
  root: boolean;
  stdout: ProgressStream;
  stderr: ProgressStream;
  env: Record<string, string | undefined>;
  /** process.argv of this invocation, recorded as run.command. */
  argv: readonly string[];
  /** Installs Ctrl-C / SIGTERM handling for a run; returns the signal and a function that removes the handlers. */
  interrupts: () => { signal: AbortSignal; exitCode: () => number | undefined; dispose: () => void };
}
