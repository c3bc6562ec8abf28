import type { ChildProcess } from 'node:child_process';
import { AsyncQueue } from '../async-queue.ts';
import type { ExitStatus } from './exit-status.ts';

/** One output or lifecycle event of a running process, fanned out to every attached stream. */
export type ProcessOutput =
  | { kind: 'stdout' | 'stderr' | 'pty'; data: Uint8Array }
  | { kind: 'end'; exit: ExitStatus }
  | { kind: 'keepalive' };

export interface ProcessConfigView {
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd: string | undefined;
}

/**
 * Output chunks (up to 64 KiB each) a stream may hold unread before the process's pipes are paused, so a process
 * that writes faster than a client reads (`yes`) blocks on its pipe instead of growing the agent's memory.
 */
export const PAUSE_AT_CHUNKS = 256;
const RESUME_AT_CHUNKS = 32;

/** A process the agent started and that has not ended yet. */
export class ManagedProcess {
  private readonly listeners = new Set<AsyncQueue<ProcessOutput>>();
  private stdinOpen: boolean;

  constructor(
    readonly pid: number,
    readonly tag: string | undefined,
    readonly config: ProcessConfigView,
    readonly child: ChildProcess,
    /** Set for a terminal process: changes its terminal's size (see pty-helper.ts). */
    readonly resize?: (size: { cols: number; rows: number }) => void,
  ) {
    this.stdinOpen = child.stdin !== null;
  }

  /** A stream of this process's events from now on; ends after the `end` event. */
  attach(): AsyncQueue<ProcessOutput> {
    const queue = new AsyncQueue<ProcessOutput>();
    queue.onTake = () => this.resumeIfDrained();
    this.listeners.add(queue);
    return queue;
  }

  detach(queue: AsyncQueue<ProcessOutput>): void {
    this.listeners.delete(queue);
    queue.end();
    this.resumeIfDrained();
  }

  private paused = false;

  /** Whether the output pipes are paused because a stream has too much unread. */
  get outputPaused(): boolean {
    return this.paused;
  }

  private resumeIfDrained(): void {
    if (!this.paused) return;
    for (const queue of this.listeners) if (queue.length > RESUME_AT_CHUNKS) return;
    this.paused = false;
    this.child.stdout?.resume();
    this.child.stderr?.resume();
  }

  emit(event: ProcessOutput): void {
    for (const queue of this.listeners) queue.push(event);
    if (!this.paused && event.kind !== 'end' && [...this.listeners].some((q) => q.length >= PAUSE_AT_CHUNKS)) {
      this.paused = true;
      this.child.stdout?.pause();
      this.child.stderr?.pause();
    }
    if (event.kind === 'end') {
      for (const queue of this.listeners) queue.end();
      this.listeners.clear();
    }
  }

  get acceptsInput(): boolean {
    return this.stdinOpen && this.child.stdin !== null && !this.child.stdin.destroyed;
  }

  closeStdin(): void {
    this.stdinOpen = false;
    this.child.stdin?.end();
  }
}

/** The running processes by pid and by tag. A process leaves the table when it ends. */
export class ProcessTable {
  private readonly byPid = new Map<number, ManagedProcess>();

  add(process: ManagedProcess): void {
    this.byPid.set(process.pid, process);
  }

  remove(process: ManagedProcess): void {
    if (this.byPid.get(process.pid) === process) this.byPid.delete(process.pid);
  }

  byPidOrTag(selector: { case: 'pid'; value: number } | { case: 'tag'; value: string }): ManagedProcess | undefined {
    if (selector.case === 'pid') return this.byPid.get(selector.value);
    for (const p of this.byPid.values()) if (p.tag === selector.value) return p;
    return undefined;
  }

  hasTag(tag: string): boolean {
    for (const p of this.byPid.values()) if (p.tag === tag) return true;
    return false;
  }

  all(): ManagedProcess[] {
    return [...this.byPid.values()];
  }

  /** Kills every process group (agent shutdown). */
  killAll(): void {
    for (const p of this.byPid.values()) {
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
