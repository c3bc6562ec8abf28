/**
 * The long-running helper processes a rig starts with `ctx.spawn` (servers, a paused `cat`, a `tc -batch -`),
 * started with zx and tracked by pid so that none outlives the rig. Short commands go through the command runner
 * instead (ctx.runner), which spawns without a shell: the floors the rigs time (a firewall tool's spawn) must not
 * include one.
 *
 * zx runs `exec ARGV` in /bin/sh (present on Linux and FreeBSD alike, unlike zx's default bash) with every word
 * quoted for a POSIX shell (shellQuote), so no argument is ever read as shell syntax, and the shell replaces itself
 * with the program: the tracked pid is the program's own, and once it runs (it answers, it listens) a signal sent
 * to that pid (SIGSTOP, SIGTERM) reaches the program. nothrow: a helper's exit status is the rig's to read (its
 * `exit` event), not an unhandled rejection. quiet: its output is the rig's, not echoed to the terminal.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { terminate } from '@coppice/runtime/host';
import { $ } from 'zx/core';
import { shellQuote } from './shell-quote.ts';

export type HelperOptions = Pick<SpawnOptions, 'stdio' | 'env' | 'cwd'>;

/** Starts argv (each word as is) as a process of its own; its pid is the program's once it runs. */
export function startProcess(argv: readonly string[], options: HelperOptions = {}): ChildProcess {
  if (argv.length === 0 || !argv[0]) throw new Error('spawn: empty argv');
  const started = $({
    shell: '/bin/sh',
    prefix: 'exec ',
    postfix: '',
    quote: shellQuote,
    nothrow: true,
    quiet: true,
    verbose: false,
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
    env: options.env ? { ...process.env, ...options.env } : process.env,
    ...(options.cwd !== undefined ? { cwd: String(options.cwd) } : {}),
  })`${argv}`;
  const child = started.child;
  if (child === undefined) throw new Error(`spawn: ${argv.join(' ')} did not start`);
  // A spawn error is also delivered to the caller's own listeners; without one it must not crash us.
  child.on('error', () => {});
  return child;
}

/** The helpers of one rig run, tracked by pid. */
export class ChildProcesses {
  private readonly live = new Map<number, string>();

  spawn(argv: readonly string[], options: HelperOptions = {}): ChildProcess {
    const child = startProcess(argv, options);
    if (child.pid !== undefined) {
      const pid = child.pid;
      this.live.set(pid, argv.join(' '));
      child.once('exit', () => this.live.delete(pid));
    }
    return child;
  }

  get pids(): number[] {
    return [...this.live.keys()];
  }

  /** Ends every tracked process still running; resolves with a description of each one that was still alive. */
  async terminateAll(graceMs = 1000): Promise<string[]> {
    const left = [...this.live.entries()];
    await terminate(
      left.map(([pid]) => pid),
      graceMs,
    );
    return left.map(([pid, cmd]) => `pid ${pid} (${cmd})`);
  }
}
