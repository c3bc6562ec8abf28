import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ProcessRunner } from '../../src/host/command-runner.ts';
import { QemuHypervisor } from '../../src/hypervisor/qemu/qemu.ts';
import type { GuestImage } from '../../src/hypervisor/hypervisor.ts';
import {
  defaultPoolConfig,
  Pool,
  PoolInputError,
  TemplateCheckpointCache,
  type PoolConfig,
  type PoolMode,
} from '../../src/pool/index.ts';
import { alive, shmFiles, testGuest, vmGone } from '../hypervisor/helpers.ts';

// Real 128 MiB guests; at most three VMs at a time. The template checkpoint is built once and reused by every pool
// in this file (same state dir and template name), which is also what a restarted controller does.
const image = await testGuest(128);
const hv = new QemuHypervisor({ runner: new ProcessRunner(), tbSizeMiB: 4 });
let stateDir: string;
let runRoot: string;
const TEMPLATE = 'cpt-pool';
const hasPython = await import('node:fs/promises').then((fs) =>
  fs.access('/usr/bin/python3').then(
    () => true,
    () => false,
  ),
);

function config(mode: PoolMode, size: { hot: number; durable: number }): PoolConfig {
  return { ...defaultPoolConfig(TEMPLATE, image as GuestImage, mode), size, stateDir, runRoot, refill: 'manual' };
}

describe.skipIf(!image)('pools on real guests', () => {
  beforeAll(async () => {
    stateDir = await mkdtemp('/tmp/cpt-pool-');
    runRoot = await mkdtemp('/run/cpt-pool-');
    const pool = await Pool.open({ config: config('durable', { hot: 0, durable: 0 }), hypervisor: hv });
    await pool.init();
    await pool.close();
  }, 180_000);

  afterAll(async () => {
    const pool = await Pool.open({ config: config('two-tier', { hot: 0, durable: 0 }), hypervisor: hv });
    await pool.destroyAll();
    await pool.close();
    await rm(stateDir, { recursive: true, force: true });
    await rm(runRoot, { recursive: true, force: true });
    expect(await shmFiles(`ckpt-${TEMPLATE}`)).toEqual([]);
  });

  it('prewarm: concurrent checkouts never share an entry; an empty pool falls back to the template', async () => {
    const fills: { tier: string; startedAt: number; endedAt: number; ok: boolean }[] = [];
    const pool = await Pool.open({
      config: config('prewarm', { hot: 2, durable: 0 }),
      hypervisor: hv,
      onFill: (f) => fills.push(f),
    });
    try {
      await pool.warm();
      const hot = pool.list();
      expect(hot.map((e) => e.tier)).toEqual(['hot', 'hot']);
      // Each background fill is reported once, when it has ended.
      expect(fills.map((f) => [f.tier, f.ok])).toEqual([
        ['hot', true],
        ['hot', true],
      ]);
      for (const f of fills) expect(f.endedAt).toBeGreaterThan(f.startedAt);
      const got = await Promise.all([pool.checkout(), pool.checkout(), pool.checkout()]);
      expect(new Set(got.map((g) => g.id)).size).toBe(3);
      expect(got.map((g) => g.source).sort()).toEqual(['hot', 'hot', 'template']);
      expect(new Set(got.map((g) => g.vm.pid)).size).toBe(3);
      for (const g of got) await pool.return(g.id);
      for (const g of got) expect(alive(g.vm.pid)).toBe(false);
      expect(pool.list()).toEqual([]);
    } finally {
      await pool.drain(); // keeps the template checkpoint for the next tests (afterAll destroys it)
      await pool.close();
    }
  }, 120_000);

  it('rejects bad input and changes nothing', async () => {
    const pool = await Pool.open({ config: config('durable', { hot: 0, durable: 1 }), hypervisor: hv });
    try {
      await pool.warm();
      const before = JSON.stringify(pool.list());
      await expect(pool.return('someone-else-00000000')).rejects.toThrow(PoolInputError);
      await expect(pool.return(pool.list()[0]!.id)).rejects.toThrow(/not checked out/);
      await expect(pool.warm(257)).rejects.toThrow(/count 257 out of range/);
      await expect(pool.warm(-1)).rejects.toThrow(/out of range/);
      expect(JSON.stringify(pool.list())).toBe(before);
    } finally {
      await pool.drain();
      await pool.close();
    }
  }, 60_000);

  it('durable: a corrupt checkpoint fails its checkout clearly and is removed; a good one restores', async () => {
    const pool = await Pool.open({ config: config('durable', { hot: 0, durable: 2 }), hypervisor: hv });
    try {
      await pool.warm();
      const [first] = pool.list();
      await writeFile(join(stateDir, TEMPLATE, `${first!.id}.state`), 'garbage');
      await expect(pool.checkout()).rejects.toThrow(
        /restore of checkpoint .*\.state failed: .*load of migration failed/,
      );
      expect(pool.list().map((e) => e.id)).not.toContain(first!.id);
      const ok = await pool.checkout();
      expect(ok.source).toBe('durable');
      await pool.return(ok.id);
      expect((await readdir(join(stateDir, TEMPLATE))).sort()).toEqual([
        `${TEMPLATE}-base.state`,
        `${TEMPLATE}-base.state.mem`,
      ]);
    } finally {
      await pool.drain();
      await pool.close();
    }
  }, 90_000);

  it('durable entries and the template checkpoint survive a reboot: tmpfs memory is made again from disk, shared', async () => {
    const pool = await Pool.open({ config: config('two-tier', { hot: 1, durable: 1 }), hypervisor: hv });
    let hotPid: number;
    let durableId: string;
    try {
      await pool.warm();
      hotPid = pool.list().find((e) => e.tier === 'hot')!.pid!;
      durableId = pool.list().find((e) => e.tier === 'durable')!.id;
    } finally {
      await pool.close();
    }
    const before = JSON.parse(await readFile(join(stateDir, `${TEMPLATE}.json`), 'utf8'));
    // The reboot: every VM gone, tmpfs (/dev/shm, /run) empty. The state dir and its fsync'd files stay.
    process.kill(hotPid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    for (const f of [...(await shmFiles(`ckpt-${TEMPLATE}`)), ...(await shmFiles(`vm-cp-${TEMPLATE}`))])
      await rm(join('/dev/shm', f));
    await rm(join(runRoot, TEMPLATE), { recursive: true, force: true });

    const again = await Pool.open({ config: config('two-tier', { hot: 1, durable: 1 }), hypervisor: hv });
    try {
      const r = again.lastReconcile!;
      expect(r.template).toBe('revived');
      expect(r.dropped).toHaveLength(1); // the hot entry: its VM died with the host
      expect(again.list().map((e) => [e.id, e.tier])).toEqual([[durableId, 'durable']]);
      // No template boot: the template checkpoint is the one written before the reboot.
      const after = JSON.parse(await readFile(join(stateDir, `${TEMPLATE}.json`), 'utf8'));
      expect(after.base.createdAt).toBe(before.base.createdAt);
      // One copy on tmpfs for the template and the entry, as before the reboot: restores share its pages.
      expect(r.revivedFiles.sort()).toEqual([after.base.memoryFile, after.entries[0].checkpoint.memoryFile].sort());
      const [a, b] = await Promise.all(r.revivedFiles.map((f) => stat(f)));
      expect(a!.ino).toBe(b!.ino);
      const got = await again.checkout();
      expect([got.id, got.source]).toEqual([durableId, 'durable']);
      expect(await got.vm.probe()).toBeGreaterThan(0);
      await again.return(got.id);
    } finally {
      await again.drain();
      await again.close();
    }
  }, 150_000);

  // python3 stands in for a reaping init (prctl PR_SET_CHILD_SUBREAPER): Node cannot become a subreaper itself.
  it.skipIf(!hasPython)(
    'a controller killed with SIGKILL is reconciled: live entries adopted, checkpoints kept, orphans killed',
    async () => {
      const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
      // Under a reaping parent (what init does on a real host), so the VMs killed later leave no zombies here.
      const reaper = fileURLToPath(new URL('./subreaper.py', import.meta.url));
      const proc = spawn(
        'python3',
        [
          reaper,
          process.execPath,
          '--import',
          'tsx',
          child,
          JSON.stringify({ image, stateDir, runRoot, template: TEMPLATE }),
        ],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const report = await new Promise<{
        controllerPid: number;
        hotPid: number;
        orphanPid: number;
        durableId: string;
        outId: string;
        outPid: number;
      }>((resolve, reject) => {
        let out = '';
        proc.stdout.on('data', (d) => {
          out += d;
          if (out.includes('\n')) resolve(JSON.parse(out));
        });
        proc.on('exit', (c) => reject(new Error(`child exited ${c} before reporting: ${out}`)));
      });
      process.kill(report.controllerPid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
      expect(alive(report.controllerPid)).toBe(false);
      expect(alive(report.hotPid)).toBe(true);
      expect(alive(report.orphanPid)).toBe(true);

      const pool = await Pool.open({ config: config('two-tier', { hot: 1, durable: 1 }), hypervisor: hv });
      try {
        expect(pool.lastReconcile!.killedOrphanPids).toEqual([report.orphanPid]);
        const entries = pool.list();
        expect(entries.find((e) => e.tier === 'hot' && e.status === 'idle')!.pid).toBe(report.hotPid);
        expect(entries.find((e) => e.tier === 'durable')!.id).toBe(report.durableId);
        // The sandbox handed out just before the crash (its checkout only journaled) is still checked out: never again.
        expect(entries.find((e) => e.id === report.outId)).toMatchObject({ status: 'checked-out', pid: report.outPid });
        await new Promise((r) => setTimeout(r, 200));
        const got = await pool.checkout();
        expect(got.vm.pid).toBe(report.hotPid); // the adopted VM answers its probe
        await pool.return(got.id);
        await pool.return(report.outId);
      } finally {
        await pool.drain();
        await pool.close();
        // The reaper exits by itself once it has reaped every VM (killing it first would leave their zombies to PID 1).
        const exited = new Promise((r) => proc.once('exit', r));
        if (
          proc.exitCode === null &&
          (await Promise.race([exited, new Promise((r) => setTimeout(() => r('late'), 10_000))])) === 'late'
        )
          proc.kill('SIGKILL');
      }
      // Killed: gone (or, had the reaper been late, a zombie: no guest runs either way).
      for (const pid of [report.orphanPid, report.hotPid, report.outPid])
        expect(await vmGone(pid), String(pid)).toBe(true);
    },
    150_000,
  );
  it('pause: a labelled sandbox is suspended to its own checkpoint, survives a reopen, and resumes on its lease', async () => {
    let pool = await Pool.open({ config: config('prewarm', { hot: 1, durable: 0 }), hypervisor: hv });
    try {
      await pool.warm();
      await expect(pool.checkout({ label: 'bad label' })).rejects.toThrow(PoolInputError);
      const out = await pool.checkout({ label: 'sbx-1' });
      await expect(pool.resume(out.id)).rejects.toThrow(/checked-out, not paused/);
      const { checkpointBytes } = await pool.suspend(out.id);
      expect(checkpointBytes).toBeGreaterThan(1 << 20); // the clone's own RAM, not a reference to the template's
      expect(await vmGone(out.vm.pid)).toBe(true);
      expect(pool.list().find((e) => e.id === out.id)).toMatchObject({ status: 'paused', label: 'sbx-1' });
      await pool.close();

      pool = await Pool.open({ config: config('prewarm', { hot: 0, durable: 0 }), hypervisor: hv });
      expect(pool.lastReconcile?.dropped).toEqual([]);
      expect(pool.list().find((e) => e.id === out.id)).toMatchObject({ status: 'paused', label: 'sbx-1' });
      const back = await pool.resume(out.id);
      expect(back.vm.pid).not.toBe(out.vm.pid);
      expect(await back.vm.probe()).toBeGreaterThan(0);
      expect(pool.list().find((e) => e.id === out.id)).toMatchObject({ status: 'checked-out', label: 'sbx-1' });
      expect((await readdir(join(stateDir, TEMPLATE))).filter((f) => f.startsWith(out.id))).toEqual([]);
      await pool.suspend(out.id);
      await pool.return(out.id); // a paused sandbox is returned without waking it
      expect(pool.list().find((e) => e.id === out.id)).toBeUndefined();
      expect((await readdir(join(stateDir, TEMPLATE))).filter((f) => f.startsWith(out.id))).toEqual([]);
    } finally {
      await pool.drain();
      await pool.close();
    }
  }, 150_000);

  it('template cache: a second pool of the same image clones the cached template checkpoint instead of booting', async () => {
    const cacheDir = await mkdtemp('/tmp/cpt-tcache-');
    const otherState = await mkdtemp('/tmp/cpt-pool2-');
    const cfg = (dir: string): PoolConfig => ({
      ...config('prewarm', { hot: 0, durable: 0 }),
      stateDir: dir,
      templateCache: cacheDir,
    });
    try {
      const first = await Pool.open({ config: cfg(stateDir), hypervisor: hv });
      await first.init(); // this file's template checkpoint exists already: init leaves the cache alone
      await first.close();
      const second = await Pool.open({ config: { ...cfg(otherState), template: 'cpt-pool2' }, hypervisor: hv });
      const booted = await second.init();
      expect((await readdir(cacheDir)).filter((f) => f.endsWith('.json'))).toEqual([
        `cache-${image!.name}-${image!.memoryMiB}m${image!.vcpus}c.json`,
      ]);
      const third = await Pool.open({ config: { ...cfg(otherState), template: 'cpt-pool3' }, hypervisor: hv });
      const boots = vi.spyOn(hv, 'boot');
      const cloned = await third.init();
      expect(boots).not.toHaveBeenCalled();
      boots.mockRestore();
      expect(cloned.path).not.toBe(booted.path);
      const out = await third.checkout();
      expect(await out.vm.probe()).toBeGreaterThan(0);
      await third.return(out.id);
      await third.destroyAll();
      await third.close();
      await second.destroyAll();
      await second.close();
    } finally {
      await new TemplateCheckpointCache(cacheDir, hv.checkpoints).remove(image!);
      await rm(cacheDir, { recursive: true, force: true });
      await rm(otherState, { recursive: true, force: true });
    }
    expect(await shmFiles('ckpt-cache-')).toEqual([]);
  }, 240_000);
});
