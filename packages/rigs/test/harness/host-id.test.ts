import { describe, expect, it } from 'vitest';
import { cpuSlug, deriveHostId } from '../../src/harness/host-id.ts';

const GiB = 1024 ** 3;

describe('deriveHostId', () => {
  it('is platform, CPU model, logical CPUs and memory in GiB', () => {
    const host = { platform: 'linux', cpu: { model: 'AMD EPYC 9B14', threads: 2 }, memoryBytes: 23.5 * GiB };
    expect(deriveHostId(host, {})).toBe('linux-amd-epyc-9b14-2c-24g');
  });

  it('is stable: the same machine always gets the same id, whatever its hostname', () => {
    const host = {
      platform: 'freebsd',
      cpu: { model: 'AMD Ryzen 9 5900HX with Radeon Graphics', threads: 16 },
      memoryBytes: 32 * GiB,
    };
    expect(deriveHostId(host, { HOSTNAME: 'a' })).toBe(deriveHostId(host, { HOSTNAME: 'b' }));
    expect(deriveHostId(host, {})).toBe('freebsd-amd-ryzen-9-5900hx-16c-32g');
  });

  it('takes COPPICE_HOST_ID when set, and rejects one that is not a slug', () => {
    const host = { platform: 'linux', cpu: { model: 'x', threads: 1 }, memoryBytes: GiB };
    expect(deriveHostId(host, { COPPICE_HOST_ID: 'honor' })).toBe('honor');
    expect(() => deriveHostId(host, { COPPICE_HOST_ID: 'My Laptop' })).toThrow(
      /COPPICE_HOST_ID "My Laptop" must be a lower-case slug/,
    );
  });
});

describe('cpuSlug', () => {
  it.each([
    ['Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz', 'intel-xeon-e5-2680-v4'],
    ['AMD EPYC 7B13 64-Core Processor', 'amd-epyc-7b13'],
    ['AMD EPYC', 'amd-epyc'],
    ['Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz', 'intel-core-i7-8650u'],
    ['', 'unknown-cpu'],
  ])('%s → %s', (model, slug) => {
    expect(cpuSlug(model)).toBe(slug);
  });
});
