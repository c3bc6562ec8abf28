import { describe, expect, it } from 'vitest';
import { qemuArgv } from '../../src/hypervisor/qemu/argv.ts';
import { DEFAULT_QEMU_TUNING, qemuProcessEnv } from '../../src/hypervisor/qemu/tuning.ts';

const image = { name: 't', kernel: '/k', initrd: '/i', memoryMiB: 256, vcpus: 1 };
const base = {
  binary: 'qemu-system-x86_64',
  image,
  accel: { kind: 'tcg' as const, tbSizeMiB: 4 },
  memory: { kind: 'ram' as const },
  qmpSocket: '/run/x/qmp.sock',
  serialSocket: '/run/x/serial.sock',
  tscKhz: 2000000,
  incoming: false,
};

describe('QEMU process tuning', () => {
  it('passes malloc arenas and tunables to QEMU in its environment, keeping the rest of it', () => {
    const env = qemuProcessEnv(
      { mallocArenaMax: 1, mallocTunables: { trim_threshold: 0, mmap_threshold: 65536 } },
      { PATH: '/usr/bin' },
    );
    expect(env).toEqual({
      PATH: '/usr/bin',
      MALLOC_ARENA_MAX: '1',
      GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=0:glibc.malloc.mmap_threshold=65536',
    });
    expect(qemuProcessEnv({}, { PATH: '/usr/bin' })).toEqual({ PATH: '/usr/bin' });
    expect(qemuProcessEnv(DEFAULT_QEMU_TUNING, {}).MALLOC_ARENA_MAX).toBe('1');
  });

  it('rejects values glibc would misread or that could smuggle another tunable in', () => {
    expect(() => qemuProcessEnv({ mallocArenaMax: 0 }, {})).toThrow(/mallocArenaMax/);
    expect(() => qemuProcessEnv({ mallocArenaMax: 1.5 }, {})).toThrow(/mallocArenaMax/);
    expect(() => qemuProcessEnv({ mallocTunables: { 'x:glibc.rtld.y': 1 } }, {})).toThrow(/tunable name/);
    expect(() => qemuProcessEnv({ mallocTunables: { top_pad: -1 } }, {})).toThrow(/top_pad/);
  });

  it('runs TCG single-threaded only when asked', () => {
    const after = (argv: string[]) => argv[argv.indexOf('-accel') + 1];
    expect(after(qemuArgv(base))).toBe('tcg,tb-size=4');
    expect(after(qemuArgv({ ...base, tcgSingleThread: true }))).toBe('tcg,tb-size=4,thread=single');
    expect(after(qemuArgv({ ...base, accel: { kind: 'kvm' }, tcgSingleThread: true }))).toBe('kvm');
  });
});
