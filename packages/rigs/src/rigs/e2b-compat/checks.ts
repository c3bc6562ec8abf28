/** One SDK call class = one check of its group: run it under a time limit, record ok/detail and its duration. */
import type { RigContext } from '../../harness/rig-context.ts';
import type { E2bCompatGroup } from './manifest.ts';

/** A check body returns what it saw (the detail of a pass) and throws what went wrong (the detail of a failure). */
export type CheckBody = () => Promise<string>;

export interface CheckRecorder {
  /** Runs one check; resolves true when it passed. Never throws (an abort of the run excepted). */
  run(group: E2bCompatGroup, call: string, body: CheckBody, limitMs?: number): Promise<boolean>;
}

export function checkRecorder(ctx: RigContext, defaultLimitMs: number): CheckRecorder {
  let done = 0;
  return {
    async run(group, call, body, limitMs = defaultLimitMs) {
      ctx.signal.throwIfAborted();
      ctx.progress(`${group}: ${call}`, done, done + 1);
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${limitMs} ms`)), limitMs);
      });
      try {
        const detail = await Promise.race([body(), limit]);
        ctx.series('call-duration', { group }).add(performance.now() - t0);
        ctx.check(group, true, `${call}: ${detail}`);
        return true;
      } catch (e) {
        ctx.signal.throwIfAborted();
        ctx.series('call-duration', { group }).fail(e);
        ctx.check(group, false, `${call}: FAILED: ${describe(e)}`);
        ctx.log(`e2b-compat ${group} ${call} failed: ${describe(e)}`);
        return false;
      } finally {
        clearTimeout(timer);
        done++;
      }
    },
  };
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  return `${e.name}: ${e.message}`.replace(/\s+/g, ' ').slice(0, 400);
}

/** Throws a check failure naming what was expected and what came back. */
export function expectThat(ok: boolean, what: string, got: unknown): void {
  if (!ok) throw new Error(`expected ${what}, got ${JSON.stringify(got)?.slice(0, 200)}`);
}

/** Polls `probe` until it returns a value or `timeoutMs` passes. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Stands in for a sandbox that could not be created: every use throws, so each check that needed it is recorded as
 * failed with the reason instead of silently missing from its group's count.
 */
export function unavailable<T extends object>(reason: string): T {
  return new Proxy({} as T, {
    get() {
      throw new Error(`not run: ${reason}`);
    },
  });
}
