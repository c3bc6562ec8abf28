/**
 * The refill timeline of one checkout round: when each checkout started and got its ready sandbox (and from which
 * tier), and when each background fill the returns set off started and ended, in ms from the round's start. Stored in
 * run.params.refillTimeline; the rig's page on the site draws it.
 */
export interface TimelineEvent {
  kind: 'checkout' | 'fill';
  /** checkout: where the sandbox came from (hot, durable, template); fill: the tier filled. */
  what: string;
  startMs: number;
  endMs: number;
  ok: boolean;
}

export interface RefillTimeline {
  config: string;
  cc: number;
  hotSize: number;
  durableSize: number;
  refillConcurrency: number;
  /** When the last sandbox had been returned; refills start with the first return, so some start before this. */
  returnedAtMs: number;
  events: TimelineEvent[];
}

/** Collects a round's events against one clock origin. */
export class TimelineRecorder {
  readonly events: TimelineEvent[] = [];
  private origin: number | undefined;

  start(): void {
    this.origin = performance.now();
    this.events.length = 0;
  }

  get recording(): boolean {
    return this.origin !== undefined;
  }

  /** Adds an event given in performance.now() times; ignored when not recording. */
  add(kind: TimelineEvent['kind'], what: string, startedAt: number, endedAt: number, ok = true): void {
    if (this.origin === undefined) return;
    this.events.push({
      kind,
      what,
      startMs: +(startedAt - this.origin).toFixed(1),
      endMs: +(endedAt - this.origin).toFixed(1),
      ok,
    });
  }

  now(): number {
    return this.origin === undefined ? 0 : +(performance.now() - this.origin).toFixed(1);
  }

  stop(): void {
    this.origin = undefined;
  }
}
