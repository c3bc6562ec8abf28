/**
 * An unbounded queue read as an async iterable: the server-streaming handlers push events from child-process and
 * inotify callbacks into one, and connect-node pulls from it. Ending (or an abort signal) lets a pending read return.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private ended = false;
  /** Called each time the reader takes an item (producers use it to resume after pausing on `length`). */
  onTake: (() => void) | undefined;

  /** Items pushed and not yet read. */
  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.ended) return;
    const wake = this.waiting;
    if (wake) {
      this.waiting = undefined;
      wake({ value: item, done: false });
    } else {
      this.items.push(item);
    }
  }

  /** No more items; items already queued are still delivered. */
  end(): void {
    this.ended = true;
    const wake = this.waiting;
    this.waiting = undefined;
    wake?.({ value: undefined, done: true });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const next = this.items.shift();
      if (next !== undefined) {
        this.onTake?.();
        yield next;
        continue;
      }
      if (this.ended) return;
      const result = await new Promise<IteratorResult<T>>((resolve) => {
        this.waiting = resolve;
      });
      if (result.done) return;
      yield result.value;
    }
  }
}

/** Header in which the e2b SDK asks for a keepalive message every N seconds on long streams. */
export const KEEPALIVE_HEADER = 'keepalive-ping-interval';
const DEFAULT_KEEPALIVE_SECONDS = 50;

/** The keepalive period a request asked for, bounded to 1..3600 s; the SDK's 50 s when absent or unreadable. */
export function keepaliveIntervalMs(headers: Headers): number {
  const raw = headers.get(KEEPALIVE_HEADER);
  const seconds = raw !== null && /^\d{1,6}$/.test(raw.trim()) ? Number(raw.trim()) : DEFAULT_KEEPALIVE_SECONDS;
  return Math.min(Math.max(seconds, 1), 3600) * 1000;
}

/**
 * Pushes `keepalive()` into the queue every interval until the queue ends or the request is aborted; an abort ends
 * the queue so that the handler's loop returns and releases what it holds.
 */
export function feedKeepalive<T>(
  queue: AsyncQueue<T>,
  intervalMs: number,
  keepalive: () => T,
  signal: AbortSignal,
): () => void {
  const timer = setInterval(() => queue.push(keepalive()), intervalMs);
  const onAbort = (): void => queue.end();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) queue.end();
  return () => {
    clearInterval(timer);
    signal.removeEventListener('abort', onAbort);
  };
}
