import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { terminate } from '@coppice/runtime/host/processes.ts';

/** Helper processes a rig started with `ctx.spawn`, tracked by pid so that none outlives the rig. */
export class ChildProcesses {
  private readonly live = new Map<number, string>();

  spawn(argv: readonly string[], options: Pick<SpawnOptions, 'stdio' | 'env' | 'cwd'> = {}): ChildProcess {
    const [file, ...args] = argv;
    if (!file) throw new Error('spawn: empty argv');
    const child = spawn(file, args, {
      stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
      env: options.env ? { ...process.env, ...options.env } : process.env,
      cwd: options.cwd,
    });
    if (child.pid !== undefined) {
      const pid = child.pid;
      this.live.set(pid, argv.join(' '));
      child.once('exit', () => this.live.delete(pid));
    }
    // A spawn error (e.g. ENOENT) is also delivered to the rig's own listeners; without one it must not crash us.
    child.on('error', () => {});
    return child;
  }

  get pids(): number[] {
    return [...this.live.keys()];
  }

  /** Ends every tracked process still running; resolves with a description of each one that was still alive. */
  async terminateAll(graceMs = 1000): Promise<string[]> {
    const left = [...this.live.entries()];
    await terminate(left.map(([pid]) => pid), graceMs);
    return left.map(([pid, cmd]) => `pid ${pid} (${cmd})`);
  }
}
