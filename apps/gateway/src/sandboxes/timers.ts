/**
 * One timer per sandbox, armed at its end time. Node's setTimeout caps at ~24.8 days, and a gateway that was down
 * past a sandbox's end time fires at once on start.
 */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class SandboxTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly onExpire: (id: string) => void) {}

  arm(id: string, endAt: number): void {
    this.disarm(id);
    const delay = Math.max(0, endAt - Date.now());
    const timer = setTimeout(
      () => {
        this.timers.delete(id);
        if (delay >= MAX_DELAY_MS) this.arm(id, endAt);
        else this.onExpire(id);
      },
      Math.min(delay, MAX_DELAY_MS),
    );
    timer.unref();
    this.timers.set(id, timer);
  }

  disarm(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  armed(): string[] {
    return [...this.timers.keys()];
  }

  clear(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
