import type { SandboxId } from '../types.ts';

/**
 * Serialises the operations on each sandbox (FIFO per sandbox, different sandboxes in parallel) and remembers when
 * the last foreground call ran, so background teardown can wait for a quiet moment (see quiet()).
 */
export class SandboxQueue {
  private readonly busy = new Map<SandboxId, Promise<unknown>>();
  /** When the last foreground call (checkout, release, a policy or forward change) started or ended. */
  private lastForeground = 0;

  /** Whether an operation on `id` is queued or running. */
  has(id: SandboxId): boolean {
    return this.busy.has(id);
  }

  /** Marks a foreground call as running now. */
  touch(): void {
    this.lastForeground = performance.now();
  }

  /**
   * Runs the first operation of a new sandbox (its checkout, undo of a failure included): the id counts as taken
   * until it has finished, and later operations on `id` wait for it.
   */
  async first<T>(id: SandboxId, fn: () => Promise<T>): Promise<T> {
    const work = fn();
    this.busy.set(id, work);
    try {
      return await work;
    } finally {
      this.busy.delete(id);
    }
  }

  /** Runs `fn` after every operation queued on `id` before it has finished, whether they succeeded or not. */
  async run<T>(id: SandboxId, fn: () => Promise<T>): Promise<T> {
    const previous = this.busy.get(id) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const tail = previous.catch(() => undefined).then(() => mine);
    this.busy.set(id, tail);
    this.touch();
    try {
      await previous.catch(() => undefined);
      return await fn();
    } finally {
      this.touch();
      done();
      if (this.busy.get(id) === tail) this.busy.delete(id);
    }
  }

  /**
   * Resolves once no foreground call has run for `quietMs`, or after `maxMs`, or as soon as `stop()` says so:
   * background teardown yields the CPU to a burst of checkouts and releases on a small host.
   */
  async quiet(stop: () => boolean, quietMs = 20, maxMs = 2000): Promise<void> {
    const start = performance.now();
    for (;;) {
      const now = performance.now();
      const wait = Math.min(this.lastForeground + quietMs - now, start + maxMs - now);
      if (wait <= 0 || stop()) return;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
