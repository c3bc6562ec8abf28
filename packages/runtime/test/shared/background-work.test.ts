/** The one helper both cubenet and the pool run their background work with: failures recorded, settle complete. */
import { describe, expect, it } from 'vitest';
import { BackgroundWork } from '../../src/shared/background-work.ts';

const later = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('BackgroundWork', () => {
  it('records a failure in errors and hands it to onError, and settle() still resolves', async () => {
    const seen: string[] = [];
    const work = new BackgroundWork((e) => seen.push(e.message));
    work.track(later(5).then(() => Promise.reject(new Error('fill failed'))));
    work.track(later(1));
    expect(work.size).toBe(2);
    await work.settle();
    expect(work.size).toBe(0);
    expect(work.errors.map((e) => e.message)).toEqual(['fill failed']);
    expect(seen).toEqual(['fill failed']);
  });

  it('settle() waits for work tracked while it waits (a fill scheduling the next one)', async () => {
    const work = new BackgroundWork();
    const done: number[] = [];
    const step = (n: number): Promise<void> =>
      later(2).then(() => {
        done.push(n);
        if (n < 3) work.track(step(n + 1));
      });
    work.track(step(1));
    await work.settle();
    expect(done).toEqual([1, 2, 3]);
  });

  it('a non-Error rejection and a throwing onError are recorded, never thrown', async () => {
    const work = new BackgroundWork(() => {
      throw new Error('callback broke');
    });
    work.track(Promise.reject('plain string'));
    await expect(work.settle()).resolves.toBeUndefined();
    expect(work.errors.map((e) => e.message)).toEqual(['plain string', 'callback broke']);
  });

  it('fail() records a failure of untracked work the same way', () => {
    const seen: Error[] = [];
    const work = new BackgroundWork((e) => seen.push(e));
    work.fail(new Error('lease release failed'));
    expect(work.errors).toHaveLength(1);
    expect(seen[0]!.message).toBe('lease release failed');
  });
});
