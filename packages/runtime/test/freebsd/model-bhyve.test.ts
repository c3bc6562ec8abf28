import { describe, expect, it } from 'vitest';
import { vmmState } from '../freebsd-host/bhyve.ts';
import { files, writeFile } from '../freebsd-host/fs.ts';
import { createFreeBsdHost } from '../freebsd-host/index.ts';
import { addInterface, netState } from '../freebsd-host/netif.ts';
import { signalProcess, spawn } from '../freebsd-host/processes.ts';

/** The model's bhyve and bhyvectl accept what bhyve(8)/bhyvectl(8) accept and refuse the rest, with their statuses. */
const FW = '/usr/local/share/uefi-firmware/BHYVE_UEFI.fd';
const IMG = '/vm/img/debian.img';

function host(options: Parameters<typeof createFreeBsdHost>[0] = {}) {
  const h = createFreeBsdHost(options);
  writeFile(h, FW, 'rom');
  writeFile(h, IMG, 'disk');
  writeFile(h, '/vm/ck/', '');
  addInterface(netState(h), 'tap0', 'tap', null);
  return h;
}

const BASE = [
  '-c',
  '2',
  '-m',
  '256M',
  '-H',
  '-A',
  '-P',
  '-s',
  '0,hostbridge',
  '-s',
  '1,lpc',
  '-s',
  `2,virtio-blk,${IMG}`,
  '-s',
  '3,virtio-net,tap0',
  '-l',
  'com1,/dev/nmdm0A',
  '-l',
  `bootrom,${FW}`,
];

async function exitOf(h: ReturnType<typeof host>, argv: string[]) {
  const p = spawn(h, ['bhyve', ...argv]);
  if (p.state !== 'exited') return { running: true as const, code: undefined, stderr: p.stderr };
  return { running: false as const, code: await p.exited, stderr: p.stderr };
}

describe('model bhyve (bhyve(8))', () => {
  it('runs the documented microVM command line and creates the kernel VM', async () => {
    const h = host();
    const r = await exitOf(h, [...BASE, 'vm1']);
    expect(r.running, r.stderr).toBe(true);
    const vm = vmmState(h).vms.get('vm1')!;
    expect(vm.ncpus).toBe(2);
    expect(vm.memMiB).toBe(256);
    expect([...vm.flags].sort()).toEqual(['A', 'H', 'P']);
  });

  it.each([
    ['no VM name', [...BASE], 1, 'Usage: bhyve'],
    ['two VM names', [...BASE, 'a', 'b'], 1, 'Usage: bhyve'],
    ['an unknown option', ['-Z', ...BASE, 'vm'], 1, 'Usage: bhyve'],
    ['an unknown PCI device', [...BASE, '-s', '4,virtio-foo', 'vm'], 4, 'pci slot 0:4:0: unknown device "virtio-foo"'],
    ['a duplicate slot', [...BASE, '-s', '2,virtio-rnd', 'vm'], 4, 'pci slot 0:2:0 already occupied!'],
    ['a slot without device', [...BASE, '-s', '5', 'vm'], 4, 'Invalid PCI slot info field "5"'],
    ['slot 32', [...BASE, '-s', '32,virtio-rnd', 'vm'], 4, 'Invalid PCI slot info field'],
    [
      'a bad topology',
      ['-c', 'cpus=3,sockets=2', ...BASE.slice(2), 'vm'],
      64,
      "invalid cpu topology 'cpus=3,sockets=2'",
    ],
    ['a bad memory size', [...BASE, '-m', '12X', 'vm'], 64, "invalid memsize '12X'"],
    ['an unknown LPC device', [...BASE, '-l', 'com9,stdio', 'vm'], 64, "invalid lpc device configuration 'com9,stdio'"],
    ['-o without =', [...BASE, '-o', 'snapshot', 'vm'], 64, "invalid configuration option 'snapshot'"],
    [
      'a missing disk image',
      ['-s', '0,hostbridge', '-s', '1,lpc', '-s', '2,virtio-blk,/nope.img', 'vm'],
      4,
      'Could not open backing file',
    ],
    [
      'a tap that does not exist',
      ['-s', '0,hostbridge', '-s', '3,virtio-net,tap9', 'vm'],
      4,
      'open of tap device /dev/tap9 failed',
    ],
    ['a missing boot ROM', ['-s', '1,lpc', '-l', 'bootrom,/nope.fd', 'vm'], 4, 'Error opening bootrom'],
    [
      'more vCPUs than hw.vmm.maxcpu',
      ['-c', '64', '-s', '0,hostbridge', 'vm'],
      4,
      '64 vCPUs requested but only 16 available',
    ],
  ])('refuses %s', async (_what, argv, code, message) => {
    const h = host();
    const r = await exitOf(h, argv);
    expect(r.running).toBe(false);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
    expect(vmmState(h).vms.size).toBe(0);
  });

  it('has no -r without BHYVE_SNAPSHOT, and -S with vnode restore is refused by the patched bhyve', async () => {
    const plain = host({ bhyveSnapshot: false });
    expect((await exitOf(plain, ['-r', '/vm/ck/x', ...BASE, 'vm'])).code).toBe(1);
    const h = host({ bhyveVnodePatch: true });
    const r = await exitOf(h, ['-r', '/vm/ck/x', '-S', '-o', 'snapshot.vnode_restore=true', ...BASE, 'vm']);
    expect(r.code).toBe(1); // the checkpoint is missing: bhyve fails before anything else
    writeFile(h, '/vm/ck/x', '');
    writeFile(h, '/vm/ck/x.kern', '');
    writeFile(h, '/vm/ck/x.meta', JSON.stringify({ vmname: 'vm', ncpus: 2, memMiB: 256, slots: [], lpc: [] }));
    const r2 = await exitOf(h, ['-r', '/vm/ck/x', '-S', '-o', 'snapshot.vnode_restore=true', ...BASE, 'vm']);
    expect(r2.code).toBe(4);
    expect(r2.stderr).toContain('wired memory (-S)');
  });
});

describe('model bhyvectl (bhyvectl(8))', () => {
  it('suspend writes FILE, FILE.kern and FILE.meta, ends bhyve with 0 and the VM; restore needs the same slots', async () => {
    const h = host();
    const p = spawn(h, ['bhyve', ...BASE, 'vm1']);
    expect((await h.run(['bhyvectl', '--vm=vm1', '--suspend=/vm/ck/a'])).code).toBe(0);
    expect(await p.exited).toBe(0);
    expect(vmmState(h).vms.has('vm1')).toBe(false);
    const withoutNet = BASE.filter((a, i) => a !== '3,virtio-net,tap0' && BASE[i + 1] !== '3,virtio-net,tap0');
    const other = await exitOf(h, ['-r', '/vm/ck/a', ...withoutNet, 'vm1']);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('Failed to restore PCI device state.');
    const same = await exitOf(h, ['-r', '/vm/ck/a', ...BASE, 'vm1']);
    expect(same.running, same.stderr).toBe(true);
  });

  it('--checkpoint writes the files and leaves the VM running; neither exists without BHYVE_SNAPSHOT', async () => {
    const h = host();
    const p = spawn(h, ['bhyve', ...BASE, 'vm1']);
    expect((await h.run(['bhyvectl', '--vm=vm1', '--checkpoint=/vm/ck/c'])).code).toBe(0);
    expect(p.state).toBe('running');
    expect(vmmState(h).vms.has('vm1')).toBe(true);
    expect(['/vm/ck/c', '/vm/ck/c.kern', '/vm/ck/c.meta'].every((f) => files(h).has(f))).toBe(true);
    expect((await h.run(['bhyvectl', '--vm=vm1', '--checkpoint=/nodir/c'])).stderr).toContain(
      'No such file or directory',
    );
    const plain = host({ bhyveSnapshot: false });
    spawn(plain, ['bhyve', ...BASE, 'vm1']);
    expect((await plain.run(['bhyvectl', '--vm=vm1', '--suspend=/vm/ck/c'])).stderr).toContain(
      "unrecognized option `--suspend'",
    );
  });

  it('refuses an unknown VM, an unknown option, and a checkpoint of a stopped bhyve', async () => {
    const h = host();
    expect((await h.run(['bhyvectl', '--vm=nope', '--destroy'])).stderr).toContain('vm_open: nope could not be opened');
    expect((await h.run(['bhyvectl', '--vm=x', '--frobnicate'])).code).toBe(1);
    expect((await h.run(['bhyvectl', '--destroy'])).stderr).toContain('Usage: bhyvectl');
    const p = spawn(h, ['bhyve', ...BASE, 'vm1']);
    signalProcess(h, p.pid, 'SIGSTOP');
    const r = await h.run(['bhyvectl', '--vm=vm1', '--suspend=/vm/ck/b']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('stopped');
    expect((await h.run(['bhyvectl', '--vm=vm1', '--destroy'])).code).toBe(0);
    expect(await p.exited).toBe(4);
  });
});
