/**
 * The density rig's KSM lever: the ksmd CPU reading, and the host's KSM settings put back after a measurement that
 * fails (the real /sys/kernel/mm/ksm; KSM is on for well under a second).
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuSecondsOfStat, KSM_DIR, readKsmSettings, withKsm } from '../../src/rigs/density/ksm.ts';

const hasKsm = existsSync(`${KSM_DIR}/run`) && process.getuid?.() === 0;

describe('KSM for one measurement', () => {
  it('reads utime + stime of a /proc/PID/stat line, a command name with spaces and parentheses included', () => {
    const line = '57 (ksm d) (x)) S 2 0 0 0 -1 2097216 0 0 0 0 150 250 0 0 25 5 1 0 112 0 0 18446744073709551615';
    expect(cpuSecondsOfStat(line, 'test')).toBe(4);
    expect(() => cpuSecondsOfStat('57 (ksmd) S 2 0', 'the stat')).toThrow(/the stat: not a \/proc\/PID\/stat line/);
    expect(() => cpuSecondsOfStat('garbage', 'the stat')).toThrow(/not a \/proc\/PID\/stat line/);
  });

  it.skipIf(!hasKsm)(
    'puts the host settings back when the measurement fails, and reports ksmd CPU when it succeeds',
    async () => {
      const before = await readKsmSettings();
      const restorers: (() => Promise<void>)[] = [];
      await expect(
        withKsm(
          { pages_to_scan: '1234', sleep_millisecs: '21' },
          1,
          5,
          (r) => restorers.push(r),
          async () => {
            expect((await readKsmSettings()).pages_to_scan).toBe('1234');
            throw new Error('measurement failed');
          },
        ),
      ).rejects.toThrow('measurement failed');
      expect(await readKsmSettings()).toEqual(before);
      expect(restorers).toHaveLength(1);

      const ok = await withKsm(
        { pages_to_scan: '1000', sleep_millisecs: '20' },
        1,
        10,
        () => undefined,
        async () => 'read',
      );
      expect(ok.result).toBe('read');
      expect(ok.hostSettings).toEqual(before);
      // Whether ksmd finishes a scan within the wait depends on the host scheduling it (seen not to, on a loaded
      // host): the reading is reported either way, and the settings are put back.
      expect(ok.outcome.fullScans).toBeGreaterThanOrEqual(0);
      expect(ok.outcome.ksmdCpuSeconds).toBeGreaterThanOrEqual(0);
      expect(await readKsmSettings()).toEqual(before);
    },
    60_000,
  );
});
