import type { RigManifest } from '@coppice/results-schema';
import type { CommandRunner } from '@coppice/runtime';
import type { HostPlatform } from '@coppice/runtime/host';
import type { ProgressStream } from '../harness/progress.ts';
import type { RigOutcome } from '../harness/run-rig.ts';

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
  /**
   * Runs one rig in a process of its own (rig-process.ts), used when a run has several rigs; without it they share
   * this process (tests with in-process rigs).
   */
  rigProcess?: (o: {
    id: string;
    quick: boolean;
    outDir: string;
    command: string;
    signal: AbortSignal;
  }) => Promise<RigOutcome>;
  /** Installs Ctrl-C / SIGTERM handling for a run; returns the signal and a function that removes the handlers. */
  interrupts: () => { signal: AbortSignal; exitCode: () => number | undefined; dispose: () => void };
}
