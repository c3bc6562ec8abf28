import { constants } from 'node:os';

const SIGNAL_WORDS: Record<string, string> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGINT: 'interrupt',
  SIGHUP: 'hangup',
  SIGQUIT: 'quit',
  SIGPIPE: 'broken pipe',
  SIGSEGV: 'segmentation fault',
  SIGABRT: 'aborted',
};

export interface ExitStatus {
  /** The exit code, or -1 when a signal ended the process. */
  exitCode: number;
  exited: boolean;
  /** "exit status 3" or "signal: killed", the wording of the reference agent. */
  status: string;
}

export function describeExit(code: number | null, signal: NodeJS.Signals | null): ExitStatus {
  if (signal !== null) {
    const word = SIGNAL_WORDS[signal] ?? `${signal} (${constants.signals[signal] ?? '?'})`;
    return { exitCode: -1, exited: false, status: `signal: ${word}` };
  }
  const exitCode = code ?? -1;
  return { exitCode, exited: true, status: `exit status ${exitCode}` };
}
