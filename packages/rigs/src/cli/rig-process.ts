/**
 * Each rig of a multi-rig run in a Node process of its own. Run in one process, a rig measured what the rigs before
 * it left in the heap: policy-update's add-one and 1 000-address replace read 0.73 / 3.72 ms after net-rr had run in
 * another process, 0.96 / 5.18 ms after net-rr in the same one (its parsed sockperf logs make the collector's work
 * heavier). A rig's figures must not depend on which rigs ran before it in the same command.
 *
 * The child is this same CLI (`process.execPath`, its exec flags and script) running `run <id>`; it inherits stderr
 * (progress lines), records the parent's command line as the result file's run.command, and reports its outcome
 * as JSON in a file the parent names. An interrupt reaches the child (forwarded if it was sent to the parent
 * alone); the child runs the rig's cleanups, and the parent waits for it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess } from '../harness/child-processes.ts';
import type { RigOutcome } from '../harness/run-rig.ts';

/** Set in the child: where to write its outcome, and the command line the user typed. */
export const OUTCOME_FILE_ENV = 'COPPICE_RIGS_OUTCOME_FILE';
export const COMMAND_ENV = 'COPPICE_RIGS_COMMAND';

export interface RigProcessOptions {
  id: string;
  quick: boolean;
  outDir: string;
  command: string;
  signal: AbortSignal;
  /** argv that starts this CLI again (default: this process's node, exec flags and script). */
  self?: readonly string[];
}

export async function runRigInProcess(o: RigProcessOptions): Promise<RigOutcome> {
  const dir = mkdtempSync(join(tmpdir(), 'coppice-rigs-outcome-'));
  const outcomeFile = join(dir, 'outcome.json');
  try {
    const [bin, ...pre] = o.self ?? [process.execPath, ...process.execArgv, process.argv[1]!];
    const args = [...pre, 'run', o.id, ...(o.quick ? ['--quick'] : []), '--out', o.outDir];
    const child = startProcess([bin!, ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { [OUTCOME_FILE_ENV]: outcomeFile, [COMMAND_ENV]: o.command },
    });
    const forward = () =>
      child.kill((o.signal.reason as Error | undefined)?.message.includes('SIGINT') ? 'SIGINT' : 'SIGTERM');
    o.signal.addEventListener('abort', forward, { once: true });
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    o.signal.removeEventListener('abort', forward);
    try {
      const outcomes = JSON.parse(readFileSync(outcomeFile, 'utf8')) as RigOutcome[];
      const mine = outcomes.find((x) => x.rig === o.id);
      if (mine) return mine;
    } catch {
      // no outcome written: the child died before it could say; described below
    }
    const how = exit.error
      ? `could not start: ${exit.error.message}`
      : exit.signal
        ? `killed by ${exit.signal}`
        : `exited ${exit.code}`;
    return { rig: o.id, status: 'failed', reason: `the rig's process ${how} without reporting an outcome` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
