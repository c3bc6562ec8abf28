import { describe, expect, it } from 'vitest';
import { bootArgv, restoreArgv } from '../../src/hypervisor/bhyve/argv.ts';
import { BhyveHypervisor } from '../../src/hypervisor/bhyve/bhyve.ts';
import { HypervisorError, type VmSpec } from '../../src/hypervisor/hypervisor.ts';
import { vmmState } from '../freebsd-host/bhyve.ts';
import { ModelBhyveSystem } from '../freebsd-host/bhyve-system.ts';
import { files, writeFile } from '../freebsd-host/fs.ts';
import { createFreeBsdHost } from '../freebsd-host/index.ts';
import { addInterface, netState } from '../freebsd-host/netif.ts';
import { liveProcesses } from '../freebsd-host/processes.ts';
import { systemInfo } from '../freebsd-host/system.ts';

/** The bhyve backend (E's Hypervisor contract) against the host model playing bhyve, bhyvectl and the console. */
const FW = '/usr/local/share/uefi-firmware/BHYVE_UEFI.fd';
const IMG = '/vm/img/debian-256.img';

function setup(options: { patches?: boolean; snapshot?: boolean } = {}) {
  const host = createFreeBsdHost({ bhyveSnapshot: options.snapshot ?? true, bhyveVnodePatch: options.patches ?? true });
  writeFile(host, FW, 'rom');
  writeFile(host, IMG, 'disk');
  writeFile(host, '/vm/ck/', '');
  addInterface(netState(host), 'tap0', 'tap', null);
  addInterface(netState(host), 'tap1', 'tap', null);
  const system = new ModelBhyveSystem(host);
  const hv = new BhyveHypervisor(system, { suspendTimeoutMs: 1000 });
  return { host, system, hv };
}

function spec(name: string, over: Partial<VmSpec> = {}): VmSpec {
  return {
    name,
    image: { name: 'debian-256', disk: IMG, bootrom: FW, memoryMiB: 256, vcpus: 2 },
    network: { tap: 'tap0', mac: '52:54:00:00:00:05', address: '10.77.0.5/24', gateway: '10.77.0.1' },
    memory: 'template',
    runDir: `/var/run/coppice/${name}`,
    ...over,
  };
}

describe('bhyve argv (bhyve(8))', () => {
  it('builds the microVM command line with -H -A -P, the four slots, com1 on nmdm and the UEFI ROM', () => {
    expect(bootArgv(spec('vm1'), 1000)).toEqual([
      'bhyve',
      '-c',
      '2',
      '-m',
      '256M',
      '-H',
      '-A',
      '-P',
      '-u',
      '-w',
      '-s',
      '0,hostbridge',
      '-s',
      '1,lpc',
      '-s',
      `2,virtio-blk,${IMG}`,
      '-s',
      '3,virtio-net,tap0,mac=52:54:00:00:00:05',
      '-l',
      'com1,/dev/nmdm1000A',
      '-l',
      `bootrom,${FW}`,
      'vm1',
    ]);
    const r = restoreArgv(spec('vm2'), 1001, '/vm/ck/t1', true);
    expect(r.slice(0, 5)).toEqual(['bhyve', '-r', '/vm/ck/t1', '-o', 'snapshot.vnode_restore=true']);
    expect(r).not.toContain('-c');
  });

  it('refuses paths that would change the meaning of bhyve options', () => {
    expect(() =>
      bootArgv(spec('vm1', { image: { name: 'x', disk: '/a,ro', bootrom: FW, memoryMiB: 256, vcpus: 1 } }), 1),
    ).toThrow(HypervisorError);
    expect(() =>
      bootArgv(spec('vm1', { image: { name: 'x', disk: 'relative.img', bootrom: FW, memoryMiB: 256, vcpus: 1 } }), 1),
    ).toThrow(/invalid disk image path/);
    expect(() => restoreArgv(spec('vm1'), 1, '/vm/ck/a b', false)).toThrow(/invalid checkpoint path/);
  });
});

describe('bhyve backend against the model', () => {
  it('boots, answers probes, pauses (no answer) and resumes', async () => {
    const { host, hv } = setup();
    const vm = await hv.boot(spec('vm1'));
    expect(host.calls[0]).toEqual(['bhyvectl', '--vm=vm1', '--destroy']); // destroy before, in case a crash left it
    expect(vmmState(host).vms.get('vm1')?.pid).toBe(vm.pid);
    expect(await vm.probe({ timeoutMs: 100 })).toBeGreaterThan(0);
    await vm.pause();
    await expect(vm.probe({ timeoutMs: 100 })).rejects.toThrow(/no answer/);
    expect((await vm.stats()).state).toBe('paused');
    await vm.resume();
    expect(await vm.probe()).toBeGreaterThan(0);
    await vm.destroy();
    expect(vmmState(host).vms.size).toBe(0);
    expect(liveProcesses(host)).toEqual([]);
    expect([...files(host).keys()].filter((f) => f.startsWith('/var/run/coppice/'))).toEqual([]);
  });

  it('a bhyve that refuses its devices fails boot with its message and leaves nothing', async () => {
    const { host, hv } = setup();
    await expect(
      hv.boot(spec('vm1', { network: { tap: 'tap7', mac: '52:54:00:00:00:07', address: '10.77.0.7/24' } })),
    ).rejects.toThrow(/open of tap device \/dev\/tap7 failed/);
    expect(vmmState(host).vms.size).toBe(0);
    expect(liveProcesses(host)).toEqual([]);
    await expect(
      hv.boot(spec('vm1', { network: { tap: 'cpt-t01', mac: '52:54:00:00:00:07', address: '10.77.0.7/24' } })),
    ).rejects.toThrow(/tapN/);
  });

  it('checkpoints with --suspend (bhyve exits, the VM is gone) and restores with the same slots and vnode restore', async () => {
    const { host, hv } = setup();
    const vm = await hv.boot(spec('tmpl'));
    await vm.pause();
    await expect(vm.checkpoint('/vm/ck/t1')).rejects.toThrow(/paused: resume it before checkpointing/);
    await vm.resume();
    const ck = await vm.checkpoint('/vm/ck/t1');
    expect(ck.files).toEqual(['/vm/ck/t1', '/vm/ck/t1.kern', '/vm/ck/t1.meta', '/vm/ck/t1.coppice.json']);
    expect(ck.hypervisorVersion).toBe('bhyve 15.0-RELEASE-p1');
    expect(ck.memoryFile).toBe('/vm/ck/t1');
    expect(ck.bytes).toBeGreaterThanOrEqual(256 * 1024 * 1024);
    expect(vmmState(host).vms.has('tmpl')).toBe(false);
    await vm.destroy();

    const clone = await hv.restore(
      spec('clone1', { network: { tap: 'tap1', mac: '52:54:00:00:00:06', address: '10.77.0.6/24' } }),
      ck,
    );
    const k = vmmState(host).vms.get('clone1')!;
    expect(k.restoredFrom).toBe('/vm/ck/t1');
    expect(k.config.get('snapshot.vnode_restore')).toBe('true');
    expect(k.memMiB).toBe(256);
    expect(await clone.probe()).toBeGreaterThan(0);
    await clone.destroy();
  });

  it('refuses a restore from another bhyve version, a corrupt or partial checkpoint, or another layout', async () => {
    const { host, hv, system } = setup();
    const vm = await hv.boot(spec('tmpl'));
    const ck = await vm.checkpoint('/vm/ck/t1');
    await vm.destroy();
    await expect(hv.restore(spec('c1'), { ...ck, hypervisorVersion: 'bhyve 14.3-RELEASE' })).rejects.toThrow(
      /not stable across versions/,
    );
    systemInfo(host).userland = '15.1-RELEASE';
    await expect(
      new BhyveHypervisor(system).restore(spec('c1'), { ...ck, hypervisorVersion: 'bhyve 15.1-RELEASE' }),
    ).rejects.toThrow(/written by bhyve 15.0-RELEASE-p1/);
    systemInfo(host).userland = '15.0-RELEASE-p1';
    await expect(hv.restore(spec('c1', { network: undefined }), ck)).rejects.toThrow(/taken with devices/);
    await expect(hv.restore(spec('c1', { memory: 'private' }), ck)).rejects.toThrow(/template memory/);
    const sidecar = JSON.parse(files(host).get('/vm/ck/t1.coppice.json')!.content);
    writeFile(host, '/vm/ck/t1.coppice.json', JSON.stringify({ ...sidecar, vcpus: 'two' }));
    await expect(hv.restore(spec('c1'), ck)).rejects.toThrow(/\/vm\/ck\/t1\.coppice\.json is corrupt: field vcpus: /);
    writeFile(host, '/vm/ck/t1.coppice.json', JSON.stringify({ ...sidecar, layout: [sidecar.layout[0], 7] }));
    await expect(hv.restore(spec('c1'), ck)).rejects.toThrow(/t1\.coppice\.json is corrupt: field layout\.1: /);
    writeFile(host, '/vm/ck/t1.coppice.json', '{not json');
    await expect(hv.restore(spec('c1'), ck)).rejects.toThrow(/t1\.coppice\.json is corrupt: not JSON/);
    files(host).delete('/vm/ck/t1.kern');
    await expect(hv.restore(spec('c1'), ck)).rejects.toThrow(/t1.kern is missing/);
    expect(vmmState(host).vms.size).toBe(0);
    expect(liveProcesses(host)).toEqual([]);
    await hv.checkpoints.removeCheckpoint(ck);
    expect([...files(host).keys()].filter((f) => f.startsWith('/vm/ck/t1'))).toEqual([]);
  });

  it('adopts a live VM from its record, and cleans one whose bhyve died (the kernel VM would block the name)', async () => {
    const { host, system, hv } = setup();
    const vm = await hv.boot(spec('vm1'));
    const record = JSON.parse(JSON.stringify(vm.record()));
    const again = new BhyveHypervisor(system);
    const adopted = await again.adopt(record);
    expect(adopted?.pid).toBe(vm.pid);
    expect(await adopted!.probe()).toBeGreaterThan(0);
    await system.signal(vm.pid, 'SIGKILL');
    expect(vmmState(host).vms.has('vm1')).toBe(true);
    expect(await again.adopt(record)).toBeUndefined();
    await again.cleanup(record);
    expect(vmmState(host).vms.size).toBe(0);
    // A boot with the same name works again.
    const vm2 = await hv.boot(spec('vm1'));
    await vm2.destroy();
  });

  it('clones a template checkpoint for a pool entry: memory hard-linked (one vnode), the rest copied; restores from the clone', async () => {
    const { host, hv } = setup();
    const tmpl = await hv.boot(spec('tmpl'));
    const base = await tmpl.checkpoint('/vm/ck/base');
    await tmpl.destroy();
    const clone = await hv.checkpoints.cloneCheckpoint(base, '/vm/ck/e1');
    expect(clone.files).toEqual(['/vm/ck/e1', '/vm/ck/e1.kern', '/vm/ck/e1.meta', '/vm/ck/e1.coppice.json']);
    expect(files(host).get('/vm/ck/e1')).toBe(files(host).get('/vm/ck/base'));
    expect(files(host).get('/vm/ck/e1.kern')).not.toBe(files(host).get('/vm/ck/base.kern'));
    const vm = await hv.restore(spec('e1'), clone);
    expect(vmmState(host).vms.get('e1')!.restoredFrom).toBe('/vm/ck/e1');
    await vm.destroy();
    await hv.checkpoints.removeCheckpoint(clone);
    expect(files(host).has('/vm/ck/base')).toBe(true);
    expect(files(host).has('/vm/ck/e1')).toBe(false);
    files(host).delete('/vm/ck/base.meta');
    await expect(hv.checkpoints.cloneCheckpoint(base, '/vm/ck/e2')).rejects.toThrow(/cannot clone/);
    expect([...files(host).keys()].filter((f) => f.startsWith('/vm/ck/e2'))).toEqual([]);
  });

  it('fsyncs every checkpoint file and its folder before handing a checkpoint out, clones (and the data they link) included', async () => {
    const { host, hv, system } = setup();
    const vm = await hv.boot(spec('tmpl'));
    const base = await vm.checkpoint('/vm/ck/base');
    await vm.destroy();
    for (const f of base.files) expect(system.durable(f), f).toBe(true);
    const clone = await hv.checkpoints.cloneCheckpoint!(base, '/vm/ck/e1');
    for (const f of clone.files) expect(system.durable(f), f).toBe(true);
    // The model tracks data, not names: a file written again is not durable until synced again.
    writeFile(host, '/vm/ck/e1.kern', 'changed');
    expect(system.durable('/vm/ck/e1.kern')).toBe(false);
    await expect(system.syncFile('/vm/ck/missing')).rejects.toThrow(/ENOENT/);
    await expect(system.syncDir('/vm/none')).rejects.toThrow(/ENOENT/);
    // A sync that fails leaves no half-made clone.
    system.syncFile = async (path: string) => {
      throw new Error(`EIO: ${path}`);
    };
    await expect(hv.checkpoints.cloneCheckpoint!(base, '/vm/ck/e2')).rejects.toThrow(/cannot clone.*EIO/);
    expect([...files(host).keys()].filter((f) => f.startsWith('/vm/ck/e2'))).toEqual([]);
  });

  it('finds running VMs nobody recorded under a run root (a controller that died before saving)', async () => {
    const { host, hv, system } = setup();
    const a = await hv.boot(spec('vm1', { runDir: '/run/coppice/vm/tpl/e1' }));
    const b = await hv.boot(spec('vm2', { runDir: '/run/coppice/vm/tpl/e2', network: undefined }));
    expect((await hv.listRunning('/run/coppice/vm')).sort((x, y) => x.pid - y.pid)).toEqual([
      { pid: a.pid, runDir: '/run/coppice/vm/tpl/e1', pidStartTime: `start-${a.pid}`, name: 'vm1' },
      { pid: b.pid, runDir: '/run/coppice/vm/tpl/e2', pidStartTime: `start-${b.pid}`, name: 'vm2' },
    ]);
    await system.signal(a.pid, 'SIGKILL');
    const [found] = await hv.listRunning('/run/coppice/vm');
    expect(found).toEqual({
      pid: b.pid,
      runDir: '/run/coppice/vm/tpl/e2',
      pidStartTime: `start-${b.pid}`,
      name: 'vm2',
    });
    await a.destroy();
    // stopRunning kills the process, destroys the kernel VM (it would block the name) and removes the run folder.
    await hv.stopRunning(found!);
    expect(vmmState(host).vms.size).toBe(0);
    expect(liveProcesses(host)).toEqual([]);
    expect(await hv.listRunning('/run/coppice/vm')).toEqual([]);
    expect([...files(host).keys()].filter((f) => f.startsWith('/run/coppice/vm/tpl/'))).toEqual([]);
  });

  it('preflight names a kernel without BHYVE_SNAPSHOT and missing modules', async () => {
    const { hv, host } = setup({ snapshot: false });
    systemInfo(host).modules.delete('nmdm');
    const reasons = await hv.preflight();
    expect(reasons.join('\n')).toMatch(/BHYVE_SNAPSHOT/);
    expect(reasons.join('\n')).toMatch(/nmdm\(4\) is not loaded/);
    expect(await setup().hv.preflight()).toEqual([]);
  });
});

describe('bhyve vnode restore: detected, never assumed', () => {
  it('a patched bhyve lists snapshot.vnode_restore in its config dump; template restores map the checkpoint', async () => {
    const { host, hv } = setup({ patches: true });
    expect(await hv.vnodeRestoreSupport()).toMatchObject({ supported: true });
    expect(host.calls).toContainEqual(['bhyve', '-o', 'config.dump=true', 'coppice-vnode-probe']);
    const vm = await hv.boot(spec('tmpl'));
    const ck = await vm.checkpoint('/vm/ck/t1');
    await vm.destroy();
    const clone = await hv.restore(spec('c1'), ck);
    expect(clone.restoreMemory).toBe('vnode');
    expect(host.calls.find((c) => c[0] === 'bhyve' && c[1] === '-r')?.slice(0, 5)).toEqual([
      'bhyve',
      '-r',
      '/vm/ck/t1',
      '-o',
      'snapshot.vnode_restore=true',
    ]);
    expect(vmmState(host).vms.get('c1')?.memoryBacking).toBe('vnode');
    await clone.destroy();
    // The probe runs once per hypervisor, however many restores follow.
    expect(host.calls.filter((c) => c.includes('config.dump=true'))).toHaveLength(1);
  });

  it('a stock bhyve (which would ignore the key) gets a copying restore without it, and says so', async () => {
    const { host, hv } = setup({ patches: false });
    const support = await hv.vnodeRestoreSupport();
    expect(support).toMatchObject({ supported: false });
    expect(support.detail).toMatch(/stock bhyve/);
    expect(await hv.restoreMemoryMode('template')).toBe('copy');
    const vm = await hv.boot(spec('tmpl'));
    const ck = await vm.checkpoint('/vm/ck/t1');
    await vm.destroy();
    const clone = await hv.restore(spec('c1'), ck);
    expect(clone.restoreMemory).toBe('copy');
    const restoreCall = host.calls.find((c) => c[0] === 'bhyve' && c[1] === '-r');
    expect(restoreCall).toBeDefined();
    expect(restoreCall).not.toContain('snapshot.vnode_restore=true');
    expect(vmmState(host).vms.get('c1')?.memoryBacking).toBe('anonymous');
    await clone.destroy();
  });

  it('the model: a stock bhyve silently keeps an unknown -o key and copies memory; the dump needs a VM name', async () => {
    const stock = createFreeBsdHost();
    const dump = await stock.run(['bhyve', '-o', 'config.dump=true', '-o', 'snapshot.vnode_restore=true', 'x']);
    expect(dump.code).toBe(1);
    expect(dump.stdout).toContain('memory.size=256M\n');
    expect(dump.stdout).toContain('snapshot.vnode_restore=true\n');
    expect((await stock.run(['bhyve', '-o', 'config.dump=true', 'x'])).stdout).not.toContain('snapshot.vnode_restore');
    expect((await stock.run(['bhyve', '-o', 'config.dump=true'])).code).toBe(1);
    expect((await stock.run(['bhyve', '-o', 'config.dump=true'])).stdout).toBe('');
    const patched = createFreeBsdHost({ bhyveVnodePatch: true });
    expect((await patched.run(['bhyve', '-o', 'config.dump=true', 'x'])).stdout).toContain(
      'snapshot.vnode_restore=false\n',
    );
  });
});
