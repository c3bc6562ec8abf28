/** HelperRunner: argv lists run by a small long-lived helper, only the programs it was started for. */
import { afterAll, describe, expect, it } from 'vitest';
import { HelperRunner } from '../../src/host/helper-runner.ts';

describe('HelperRunner', () => {
  const runner = new HelperRunner(['echo', 'false']);
  afterAll(() => runner.close());

  it('runs argv without a shell and reports exit codes and output', async () => {
    const r = await runner.run(['echo', 'a; rm -rf /', '$(id)']);
    expect(r).toEqual({ argv: ['echo', 'a; rm -rf /', '$(id)'], code: 0, stdout: 'a; rm -rf / $(id)\n', stderr: '' });
    expect((await runner.run(['false'])).code).toBe(1);
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => runner.run(['echo', String(i)])));
    expect(many.map((m) => m.stdout.trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('refuses programs it was not started for, and options it cannot honour', async () => {
    await expect(runner.run(['ls', '/'])).rejects.toThrow(/does not run ls/);
    await expect(runner.run(['echo'], { input: 'x' })).rejects.toThrow(/argv only/);
  });

  it('starts a new helper when the old one died', async () => {
    (runner as unknown as { child?: { kill(s: string): void } }).child?.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    expect((await runner.run(['echo', 'again'])).stdout).toBe('again\n');
  });
});
