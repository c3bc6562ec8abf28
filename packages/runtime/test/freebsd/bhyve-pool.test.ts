import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile as writeRealFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BhyveHypervisor } from '../../src/hypervisor/bhyve/bhyve.ts';
import { Cubenet } from '../../src/net/cubenet.ts';
import { FreeBsdEndpoints } from '../../src/net/endpoint/freebsd/freebsd-endpoints.ts';
import { PfFirewall } from '../../src/net/firewall/pf/pf.ts';
import {
  CubenetNetwork,
  defaultPoolConfig,
  Pool,
  type PoolConfig,
  type PoolMode,
  type PoolState,
} from '../../src/pool/index.ts';
import { vmmState } from '../freebsd-host/bhyve.ts';
import { ModelBhyveSystem } from '../freebsd-host/bhyve-system.ts';
import { files, writeFile } from '../freebsd-host/fs.ts';
import { createFreeBsdHost, type FreeBsdHost } from '../freebsd-host/index.ts';
import { netState } from '../freebsd-host/netif.ts';
import { evaluate, pfKernel } from '../freebsd-host/pf-kernel.ts';
import { liveProcesses, processTable } from '../freebsd-host/processes.ts';

/**
 * Pools on the bhyve backend, against the FreeBSD host model playing bhyve(8), bhyvectl(8), the VM consoles and the
 * checkpoint files. The pool's own state (state file, lock) is real, in a temp folder; the checkpoint folder exists
 * in the model too (bhyvectl --suspend refuses a folder that does not exist).
 */
const FW = '/usr/local/share/uefi-firmware/BHYVE_UEFI.fd';
const IMG = '/vm/img/debian-256.img';
const TEMPLATE = 'cpt-bpool';

let stateDir: string;
let host: FreeBsdHost;
let system: ModelBhyveSystem;

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'cpt-bpool-'));
  host = createFreeBsdHost({ bhyveVnodePatch: true });
  writeFile(host, FW, 'rom');
  writeFile(host, IMG, 'disk');
  writeFile(host, `${stateDir}/${TEMPLATE}/`, '');
  system = new ModelBhyveSystem(host);
});

afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

const hv = () => new BhyveHypervisor(system, { suspendTimeoutMs: 1000 });

function config(mode: PoolMode, size: { hot: number; durable: number }): PoolConfig {
  const image = { name: 'debian-256', disk: IMG, bootrom: FW, memoryMiB: 256, vcpus: 1 };
  return {
    ...defaultPoolConfig(TEMPLATE, image, mode),
    size,
    stateDir,
    runRoot: '/var/run/coppice/vm',
    refill: 'manual',
  };
}

/** Checkpoint files in the model under the pool's folder. */
function checkpointFiles(): string[] {
  return [...files(host).keys()].filter((f) => f.startsWith(`${stateDir}/${TEMPLATE}/`) && !f.endsWith('/')).sort();
}

function state(pid: number): string | undefined {
  return processTable(host).processes.get(pid)?.state;
}

/** What the host holds once a pool is drained of everything: no bhyve, no kernel VM, no checkpoint, no run folder. */
function expectNothingLeft(): void {
  expect(liveProcesses(host)).toEqual([]);
  expect([...vmmState(host).vms.keys()]).toEqual([]);
  expect(checkpointFiles()).toEqual([]);
  expect([...files(host).keys()].filter((f) => f.startsWith('/var/run/coppice/vm/'))).toEqual([]);
}

describe('pools on bhyve (host model)', () => {
  it('durable: entries clone the template checkpoint (memory hard-linked, one vnode), restore with vnode restore, drain to nothing', async () => {
    const pool = await Pool.open({ config: config('durable', { hot: 0, durable: 2 }), hypervisor: hv() });
    try {
      await pool.warm();
      const entries = pool.list();
      expect(entries.map((e) => [e.tier, e.status])).toEqual([
        ['durable', 'idle'],
        ['durable', 'idle'],
      ]);
      const base = `${stateDir}/${TEMPLATE}/${TEMPLATE}-base.state`;
      for (const e of entries) {
        const path = `${stateDir}/${TEMPLATE}/${e.id}.state`;
        expect(files(host).get(path)).toBe(files(host).get(base)); // guest memory: the same vnode
        for (const suffix of ['.kern', '.meta', '.coppice.json'])
          expect(files(host).has(`${path}${suffix}`)).toBe(true);
      }
      // Recorded entries (and the template checkpoint they link) survive a power loss: data and names fsync'd.
      const recorded = JSON.parse(await readFile(join(stateDir, `${TEMPLATE}.json`), 'utf8')) as PoolState;
      const durableFiles = [...recorded.base!.files, ...recorded.entries.flatMap((e) => e.checkpoint!.files)];
      expect(durableFiles).toHaveLength(12);
      for (const f of durableFiles) expect(system.durable(f), f).toBe(true);
      expect(liveProcesses(host)).toEqual([]); // durable entries are files only

      const got = await pool.checkout();
      expect(got.source).toBe('durable');
      const kvm = vmmState(host).vms.get(got.vm.name)!;
      expect(kvm.restoredFrom).toBe(`${stateDir}/${TEMPLATE}/${got.id}.state`);
      expect(kvm.config.get('snapshot.vnode_restore')).toBe('true');
      expect(await got.vm.probe()).toBeGreaterThan(0);
      await pool.return(got.id);
      expect(state(got.vm.pid)).toBe('exited');
      expect(files(host).has(`${stateDir}/${TEMPLATE}/${got.id}.state.kern`)).toBe(false);
      expect(files(host).has(base)).toBe(true); // the template's memory file outlives its clones

      expect(await pool.drain({ base: true })).toBe(1);
      expectNothingLeft();
    } finally {
      await pool.close();
    }
  });

  it('prewarm: stopped bhyve processes, concurrent checkouts never share one, return destroys the VM', async () => {
    const pool = await Pool.open({ config: config('prewarm', { hot: 2, durable: 0 }), hypervisor: hv() });
    try {
      await pool.warm();
      const hot = pool.list();
      expect(hot.map((e) => e.tier)).toEqual(['hot', 'hot']);
      for (const e of hot) expect(state(e.pid!)).toBe('stopped');
      const got = await Promise.all([pool.checkout(), pool.checkout(), pool.checkout()]);
      expect(got.map((g) => g.source).sort()).toEqual(['hot', 'hot', 'template']);
      expect(new Set(got.map((g) => g.vm.pid)).size).toBe(3);
      for (const g of got) expect(state(g.vm.pid)).toBe('running');
      for (const g of got) await pool.return(g.id);
      for (const g of got) expect(state(g.vm.pid)).toBe('exited');
      await pool.drain({ base: true });
      expectNothingLeft();
    } finally {
      await pool.close();
    }
  });

  it('two-tier: the hot tier is fed from the cold tier; a controller killed with SIGKILL is reconciled by the next', async () => {
    const first = await Pool.open({ config: config('two-tier', { hot: 1, durable: 1 }), hypervisor: hv() });
    await first.warm();
    const hot = first.list().find((e) => e.tier === 'hot')!;
    const cold = first.list().find((e) => e.tier === 'durable')!;
    expect(state(hot.pid!)).toBe('stopped');
    // A VM the dead controller had started but not recorded, and a clone it had half made.
    const orphanHv = hv();
    const base = (await import('node:fs/promises')).readFile(join(stateDir, `${TEMPLATE}.json`), 'utf8');
    const orphan = await orphanHv.restore(
      {
        name: 'cp-cpt-bpool-0bad0bad',
        image: config('two-tier', { hot: 0, durable: 0 }).image,
        memory: 'template',
        runDir: `/var/run/coppice/vm/${TEMPLATE}/${TEMPLATE}-0bad0bad`,
      },
      JSON.parse(await base).base,
    );
    writeFile(host, `${stateDir}/${TEMPLATE}/${TEMPLATE}-0bad0bad.state.kern`, 'kern');
    // SIGKILL: no close(); the kernel drops a dead process's flock, which releasing the lock alone stands for.
    await (first as unknown as { unlock: () => Promise<void> }).unlock();

    const pool = await Pool.open({ config: config('two-tier', { hot: 1, durable: 1 }), hypervisor: hv() });
    try {
      const r = pool.lastReconcile!;
      expect(r.adopted).toEqual([hot.id]);
      expect(r.killedOrphanPids).toEqual([orphan.pid]);
      expect(r.template).toBe('kept');
      expect(state(orphan.pid)).toBe('exited');
      expect(vmmState(host).vms.has('cp-cpt-bpool-0bad0bad')).toBe(false); // the kernel VM would block the name
      expect(r.removedFiles).toContain(`${stateDir}/${TEMPLATE}/${TEMPLATE}-0bad0bad.state.kern`);
      expect(pool.list().map((e) => [e.id, e.tier])).toEqual([
        [hot.id, 'hot'],
        [cold.id, 'durable'],
      ]);

      const got = await pool.checkout();
      expect([got.id, got.source, got.vm.pid]).toEqual([hot.id, 'hot', hot.pid]); // the adopted VM answers
      await pool.return(got.id);
      // Refill by hand: the hot tier takes the cold entry (restore from its checkpoint), whose files then go.
      await pool.fill('hot');
      const now = pool.list();
      expect(now.map((e) => [e.id, e.tier])).toEqual([[cold.id, 'hot']]);
      expect(vmmState(host).vms.get(`cp-${cold.id}`)!.restoredFrom).toBe(`${stateDir}/${TEMPLATE}/${cold.id}.state`);
      expect(checkpointFiles().filter((f) => f.includes(cold.id))).toEqual([]);
      await pool.drain({ base: true });
      expectNothingLeft();
    } finally {
      await pool.close();
    }
  });

  it('destroyAll leaves nothing: no VM, no checkpoint, no state file, journal or lock once closed', async () => {
    const pool = await Pool.open({ config: config('two-tier', { hot: 1, durable: 1 }), hypervisor: hv() });
    await pool.warm();
    const out = await pool.checkout(); // journaled
    await pool.destroyAll();
    await pool.close();
    expect(state(out.vm.pid)).toBe('exited');
    expectNothingLeft();
    expect(await readdir(stateDir)).toEqual([]);
  });

  it("a fill that fails is reported by warm (once, with bhyve's reason) and leaves nothing; warm works again once fixed", async () => {
    const pool = await Pool.open({ config: config('prewarm', { hot: 2, durable: 0 }), hypervisor: hv() });
    try {
      await pool.init();
      const rom = files(host).get(FW)!;
      files(host).delete(FW);
      await expect(pool.warm()).rejects.toThrow(
        /warm: 1 fill\(s\) failed: bhyve exited with status 4 .*Error opening bootrom/,
      );
      expect(pool.list()).toEqual([]);
      expect(liveProcesses(host)).toEqual([]);
      files(host).set(FW, rom);
      await pool.warm();
      expect(pool.list().map((e) => e.tier)).toEqual(['hot', 'hot']);
      await pool.drain({ base: true });
      expectNothingLeft();
    } finally {
      await pool.close();
    }
  });

  it('entries on cubenet taps: the template boots with a NIC too (bhyve restores only into the same devices)', async () => {
    const net = await Cubenet.open({
      // The kernel objects live in this test's own model: its lock need not be the host-wide one.
      config: {
        prefix: 'cpt',
        ipv4Subnet: '10.77.0.0/24',
        ipv6Subnet: 'fd77::/64',
        stateDir: join(stateDir, 'net'),
        lockDir: join(stateDir, 'locks'),
      },
      runner: host,
      firewall: new PfFirewall(host, 'cpt'),
      endpoints: new FreeBsdEndpoints(host, 'cpt'),
      enableForwarding: false,
    });
    await net.init();
    const pool = await Pool.open({
      config: config('prewarm', { hot: 1, durable: 0 }),
      hypervisor: hv(),
      network: new CubenetNetwork(net),
    });
    try {
      await pool.warm();
      expect(net.list()).toHaveLength(1); // the template's lease was released once it was checkpointed
      const got = await pool.checkout({ policy: { allowInternetAccess: true } });
      const tap = got.network!.tap;
      expect(
        vmmState(host)
          .vms.get(got.vm.name)!
          .slots.some((x) => x.device === 'virtio-net' && x.config?.startsWith(`${tap},`)),
      ).toBe(true);
      const guest = got.network!.address.split('/')[0]!;
      expect(
        evaluate(host, {
          direction: 'in',
          iface: tap,
          proto: 'tcp',
          src: guest,
          sport: 1000,
          dst: '198.51.100.7',
          dport: 443,
        }).action,
      ).toBe('pass');
      await pool.return(got.id);
      expect(net.list()).toEqual([]);
      await pool.drain({ base: true });
      await net.settle();
      expect((await net.audit()).ok).toBe(true);
      await net.teardown();
      expectNothingLeft();
      expect([...netState(host).interfaces.keys()].sort()).toEqual(['em0', 'lo0']);
      expect(pfKernel(host).states).toEqual([]);
    } finally {
      await pool.close();
      await net.close();
    }
  });
});
