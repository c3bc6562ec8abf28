import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { constants as osConstants } from 'node:os';

/**
 * The one seam between the runtime and the operating system. Every command the runtime runs goes through a
 * CommandRunner, so tests can substitute a model of the host (see test/freebsd-host/) and no code path ever builds
 * a shell command line: argv goes to execve as a list.
 */
export interface CommandOptions {
  /** Written to the child's stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Kill the child (SIGKILL) after this many milliseconds and fail. */
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
  /** ProcessRunner only: an open descriptor of this process handed to the child as its fd 3 (e.g. for flock(1)). */
  fd3?: number;
}

export interface CommandResult {
  argv: readonly string[];
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  /** Runs argv and resolves with its result whatever the exit code. */
  run(argv: readonly string[], options?: CommandOptions): Promise<CommandResult>;
}

export class CommandError extends Error {
  constructor(readonly result: CommandResult) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ');
    super(`command failed (exit ${result.code}): ${result.argv.join(' ')}${detail ? `: ${detail}` : ''}`);
    this.name = 'CommandError';
  }
}

/** Runs argv and throws CommandError unless it exits 0. */
export async function runChecked(
  runner: CommandRunner,
  argv: readonly string[],
  options?: CommandOptions,
): Promise<CommandResult> {
  const result = await runner.run(argv, options);
  if (result.code !== 0) throw new CommandError(result);
  return result;
}

/** Runs real processes with child_process.spawn (no shell). */
export class ProcessRunner implements CommandRunner {
  run(argv: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
    const [file, ...args] = argv;
    if (!file) return Promise.reject(new Error('empty argv'));
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, {
        stdio: options.fd3 === undefined ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', options.fd3],
        env: options.env ? { ...process.env, ...options.env } : process.env,
        cwd: options.cwd,
      }) as ChildProcessWithoutNullStreams; // the fourth stdio entry hides that 0-2 are pipes from the overloads
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              child.kill('SIGKILL');
            }, options.timeoutMs);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => {
        if (timer) clearTimeout(timer);
        reject(new Error(`cannot run ${file}: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        const result: CommandResult = {
          argv,
          code: code ?? 128 + (signal ? osConstants.signals[signal] : 0),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        };
        if (timedOut) reject(new Error(`timed out after ${options.timeoutMs} ms: ${argv.join(' ')}`));
        else resolve(result);
      });
      child.stdin.on('error', () => {
        /* the child may exit before reading its input; its exit status tells */
      });
      child.stdin.end(options.input ?? '');
    });
  }
}
