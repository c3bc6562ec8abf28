import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessRunner } from '../../src/host/command-runner.ts';
import { QemuHypervisor } from '../../src/hypervisor/qemu/qemu.ts';
import type { GuestImage } from '../../src/hypervisor/hypervisor.ts';
import type { Cubenet } from '../../src/net/cubenet.ts';
import { openLinuxCubenet } from '../../src/net/linux.ts';
import { CubenetNetwork, defaultPoolConfig, Pool } from '../../src/pool/index.ts';
import { testGuest } from '../hypervisor/helpers.ts';

// One 128 MiB guest on a cubenet tap (test prefix "cpe", its own subnet): the entry's lease, the guest configured
// over its console after the restore, the TCP probe over the tap, and release through cubenet.
const image = await testGuest(128);
const root = process.getuid?.() === 0;
const runner = new ProcessRunner();
let net: Cubenet;
let stateDir: string;
let runRoot: string;

describe.skipIf(!image || !root)('pool entries on cubenet taps', () => {
  beforeAll(async () => {
    stateDir = await mkdtemp('/tmp/cpt-cpool-');
    runRoot = await mkdtemp('/run/cpt-cpool-');
    net = await openLinuxCubenet({
      runner,
      config: { prefix: 'cpe', ipv4Subnet: '10.231.0.0/24', ipv6Subnet: 'fd31::/64', stateDir: `${stateDir}/net` },
    });
    await net.init();
  }, 60_000);

  afterAll(async () => {
    await net?.teardown();
    await net?.close();
    await rm(stateDir, { recursive: true, force: true });
    await rm(runRoot, { recursive: true, force: true });
  });

  it('gives each entry its own tap and address, answers over TCP, and releases the lease on return', async () => {
    const hv = new QemuHypervisor({ runner, tbSizeMiB: 4 });
    const config = {
      ...defaultPoolConfig('cpt-net', image as GuestImage, 'prewarm'),
      size: { hot: 1, durable: 0 },
      stateDir,
      runRoot,
      refill: 'manual' as const,
    };
    const pool = await Pool.open({ config, hypervisor: hv, network: new CubenetNetwork(net) });
    try {
      await pool.warm();
      expect(net.list()).toHaveLength(1);
      const got = await pool.checkout({
        policy: { allowOut: [], denyOut: [], dnsAllow: [], allowInternetAccess: false },
      });
      expect(got.network?.address).toMatch(/^10\.231\.0\.\d+\/24$/);
      expect(got.network?.tap).toMatch(/^cpe-t/);
      expect(await got.vm.probe({ via: 'tcp', timeoutMs: 15_000 })).toBeGreaterThan(0);
      await pool.return(got.id);
      expect(net.list()).toHaveLength(0);
    } finally {
      await pool.destroyAll();
      await pool.close();
    }
  }, 240_000);
});
