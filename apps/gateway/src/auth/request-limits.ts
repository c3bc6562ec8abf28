/**
 * Per-key request rate (a token bucket) and concurrency (requests in flight). Refusals are 429 with Retry-After in
 * whole seconds, which the E2B SDK retries.
 */
export interface RequestLimits {
  /** Sustained requests per second per key. */
  ratePerSecond: number;
  /** Requests a key may send at once above the sustained rate. */
  burst: number;
  /** Control-plane requests of one key in flight at once. */
  concurrent: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = { ratePerSecond: 20, burst: 100, concurrent: 64 };

interface Bucket {
  tokens: number;
  at: number;
  inFlight: number;
}

export type Admission = { ok: true; release: () => void } | { ok: false; retryAfterSeconds: number; reason: string };

export class RequestLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limits: RequestLimits) {}

  admit(key: string, now = Date.now()): Admission {
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.limits.burst, at: now, inFlight: 0 };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.limits.burst, b.tokens + ((now - b.at) / 1000) * this.limits.ratePerSecond);
    b.at = now;
    if (b.inFlight >= this.limits.concurrent) {
      return {
        ok: false,
        retryAfterSeconds: 1,
        reason: `too many requests in flight for this key (limit ${this.limits.concurrent})`,
      };
    }
    if (b.tokens < 1) {
      const wait = Math.ceil((1 - b.tokens) / this.limits.ratePerSecond);
      return {
        ok: false,
        retryAfterSeconds: Math.max(1, wait),
        reason: `rate limit of ${this.limits.ratePerSecond} requests per second exceeded`,
      };
    }
    b.tokens -= 1;
    b.inFlight += 1;
    const bucket = b;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (!released) bucket.inFlight -= 1;
        released = true;
      },
    };
  }
}
