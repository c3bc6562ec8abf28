import { describe, expect, it } from 'vitest';
import { qemuArgv } from '../../src/hypervisor/qemu/argv.ts';
import { assertVmName, assertVmNetwork, HypervisorError } from '../../src/hypervisor/hypervisor.ts';

const image = { name: 't', kernel: '/k', initrd: '/i', memoryMiB: 256, vcpus: 1 };
const base = {
  binary: 'qemu-system-x86_64',
  image,
  accel: { kind: 'tcg' as const, tbSizeMiB: 4 },
  qmpSocket: '/run/x/qmp.sock',
  serialSocket: '/run/x/serial.sock',
  tscKhz: 2000000,
};

function after(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));
}

describe('qemuArgv', () => {
  it('refuses a comma in any path it puts into a comma-separated option value, naming the path', () => {
    const ok = { ...base, memory: { kind: 'file' as const, path: '/dev/shm/m', share: true }, incoming: false };
    const cases: Array<[string, Parameters<typeof qemuArgv>[0], RegExp]> = [
      [
        'memory file',
        { ...ok, memory: { kind: 'file', path: '/dev/shm/a,share=on,x', share: false } },
        /memory file path "\/dev\/shm\/a,share=on,x"/,
      ],
      ['QMP socket', { ...ok, qmpSocket: '/run/a,b/qmp.sock' }, /QMP socket path "\/run\/a,b\/qmp\.sock"/],
      [
        'serial socket',
        { ...ok, serialSocket: '/run/a,b/serial.sock' },
        /serial socket path "\/run\/a,b\/serial\.sock"/,
      ],
    ];
    for (const [what, args, message] of cases) {
      expect(() => qemuArgv(args), what).toThrow(HypervisorError);
      expect(() => qemuArgv(args), what).toThrow(message);
      expect(() => qemuArgv(args), what).toThrow(/comma/);
    }
    expect(() => qemuArgv({ ...ok, qmpSocket: 'relative/qmp.sock' })).toThrow(/QMP socket path/);
    expect(() => qemuArgv({ ...ok, serialSocket: '/run/a\nb' })).toThrow(/serial socket path/);
  });

  it('maps a template VM on a shared memory file and a clone on a private copy-on-write mapping of it', () => {
    const tpl = qemuArgv({ ...base, memory: { kind: 'file', path: '/dev/shm/m', share: true }, incoming: false });
    expect(after(tpl, '-object')).toEqual(['memory-backend-file,id=mem,size=256M,mem-path=/dev/shm/m,share=on']);
    expect(after(tpl, '-M')).toEqual(['microvm,memory-backend=mem']);
    expect(tpl).not.toContain('-incoming');
    const clone = qemuArgv({ ...base, memory: { kind: 'file', path: '/dev/shm/m', share: false }, incoming: true });
    expect(after(clone, '-object')).toEqual(['memory-backend-file,id=mem,size=256M,mem-path=/dev/shm/m,share=off']);
    expect(after(clone, '-incoming')).toEqual(['defer']);
    expect(clone).toContain('-S');
  });

  it('boots with the kernel, initrd and command line but restores without them (no kernel copy in the clone)', () => {
    const boot = qemuArgv({ ...base, memory: { kind: 'ram' }, incoming: false });
    expect(after(boot, '-kernel')).toEqual(['/k']);
    expect(after(boot, '-initrd')).toEqual(['/i']);
    expect(after(boot, '-append')).toHaveLength(1);
    const restore = qemuArgv({ ...base, memory: { kind: 'file', path: '/dev/shm/m', share: false }, incoming: true });
    for (const flag of ['-kernel', '-initrd', '-append']) expect(restore).not.toContain(flag);
  });

  it('uses TCG with the configured translation cache unless KVM was proven to work', () => {
    expect(after(qemuArgv({ ...base, memory: { kind: 'ram' }, incoming: false }), '-accel')).toEqual(['tcg,tb-size=4']);
    const kvm = qemuArgv({ ...base, accel: { kind: 'kvm' }, memory: { kind: 'ram' }, incoming: false });
    expect(after(kvm, '-accel')).toEqual(['kvm']);
  });

  it('keeps the same NIC whether or not the VM has a network, so checkpoints restore on either', () => {
    const none = qemuArgv({ ...base, memory: { kind: 'ram' }, incoming: false });
    const net = qemuArgv({
      ...base,
      memory: { kind: 'ram' },
      incoming: false,
      network: { tap: 'cpc-t01', mac: '52:54:00:aa:bb:cc', address: '10.77.0.5/24', gateway: '10.77.0.1' },
    });
    expect(after(none, '-device')).toEqual(['virtio-net-device,netdev=n0']);
    expect(after(none, '-netdev')).toEqual(['hubport,id=n0,hubid=0']);
    expect(after(net, '-netdev')).toEqual(['tap,id=n0,ifname=cpc-t01,script=no,downscript=no']);
    expect(after(net, '-device')).toEqual(['virtio-net-device,netdev=n0,mac=52:54:00:aa:bb:cc']);
    expect(after(net, '-append')[0]).toContain('coppice.ip=10.77.0.5/24 coppice.gw=10.77.0.1');
    expect(after(net, '-append')[0]).toContain('tsc_early_khz=2000000');
  });

  it("attaches the VM's own disk layer as virtio-blk only when it has one, and refuses a path QEMU would split", () => {
    const none = qemuArgv({ ...base, memory: { kind: 'ram' }, incoming: false });
    expect(none).not.toContain('-drive');
    const withDisk = qemuArgv({ ...base, memory: { kind: 'ram' }, incoming: false, disk: '/run/x/disk.qcow2' });
    expect(after(withDisk, '-drive')).toEqual(['file=/run/x/disk.qcow2,format=qcow2,if=none,id=vd0']);
    expect(after(withDisk, '-device')).toEqual(['virtio-net-device,netdev=n0', 'virtio-blk-device,drive=vd0']);
    expect(() =>
      qemuArgv({ ...base, memory: { kind: 'ram' }, incoming: false, disk: '/run/x,readonly=off/d.qcow2' }),
    ).toThrow(HypervisorError);
  });
});

describe('input validation', () => {
  it('rejects VM names that could escape a path or a command line', () => {
    for (const bad of ['', '../x', 'a b', 'A', 'x'.repeat(41), 'a,b', '-a'])
      expect(() => assertVmName(bad)).toThrow(HypervisorError);
    expect(() => assertVmName('cp-debian-256-0a1b2c3d')).not.toThrow();
  });

  it('rejects bad taps, MACs and addresses', () => {
    const ok = { tap: 'cpc-t01', mac: '52:54:00:aa:bb:cc', address: '10.77.0.5/24' };
    expect(() => assertVmNetwork(ok)).not.toThrow();
    expect(() => assertVmNetwork({ ...ok, tap: 'tap,script=/bin/sh' })).toThrow(/tap/);
    expect(() => assertVmNetwork({ ...ok, mac: '52:54:00:AA:BB' })).toThrow(/MAC/);
    expect(() => assertVmNetwork({ ...ok, address: '10.77.0.5' })).toThrow(/address/);
  });
});
