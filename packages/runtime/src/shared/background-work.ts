/**
 * Work a controller starts and does not wait for (cubenet's endpoint recycling and refills, a pool's fills).
 *
 * Semantics, the same for every user:
 * - A tracked promise never rejects anywhere: its failure is recorded in `errors` (kept until the owner takes
 *   them) and handed to `onError`. So background work can never become an unhandled rejection, and no failure is
 *   lost because nobody happened to await it.
 * - `settle()` resolves once nothing is running, work tracked while it waits included (a fill that schedules the
 *   next fill, a release that starts a recycle): it never resolves with work still in flight, and never rejects.
 */
export class BackgroundWork {
  /** Failures of tracked work, oldest first. The owner may splice them out once reported. */
  readonly errors: Error[] = [];
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly onError?: (error: Error) => void) {}

  /** Runs `work` in the background; its failure goes to `errors` and `onError`. */
  track(work: Promise<unknown>): void {
    const tracked: Promise<void> = work
      .then(
        () => undefined,
        (e: unknown) => this.fail(e),
      )
      .finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  /** Records a failure of work that was not tracked (a best-effort step the caller chose not to throw for). */
  fail(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    this.errors.push(e);
    try {
      this.onError?.(e);
    } catch (thrown) {
      // A throwing callback must not turn recorded work into a rejection: keep its error with the others.
      this.errors.push(thrown instanceof Error ? thrown : new Error(String(thrown)));
    }
  }

  /** How many tracked pieces of work are still running. */
  get size(): number {
    return this.running.size;
  }

  /** Resolves once no tracked work is running, including work tracked while waiting. */
  async settle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }
}
