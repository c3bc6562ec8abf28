import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BhyveHypervisor } from '../../src/hypervisor/bhyve/bhyve.ts';
import { Cubenet } from '../../src/net/cubenet.ts';
import { FreeBsdEndpoints } from '../../src/net/endpoint/freebsd/freebsd-endpoints.ts';
import { PfFirewall } from '../../src/net/firewall/pf/pf.ts';
import { CubenetNetwork } from '../../src/pool/network.ts';
import { vmmState } from '../freebsd-host/bhyve.ts';
import { ModelBhyveSystem } from '../freebsd-host/bhyve-system.ts';
import { writeFile } from '../freebsd-host/fs.ts';
import { createFreeBsdHost } from '../freebsd-host/index.ts';
import { netState } from '../freebsd-host/netif.ts';
import { evaluate, pfKernel } from '../freebsd-host/pf-kernel.ts';
import { liveProcesses } from '../freebsd-host/processes.ts';

/** A pool entry's network on FreeBSD: cubenet's tap (via the pools' CubenetNetwork) backs a bhyve VM's virtio-net. */
describe('bhyve VM on a cubenet tap (host model)', () => {
  it('boots on the leased tap, gets its policy at checkout, and leaves nothing after release', async () => {
    const host = createFreeBsdHost();
    writeFile(host, '/fw.fd', 'rom');
    writeFile(host, '/img.raw', 'disk');
    const dir = await mkdtemp(join(tmpdir(), 'cpt-fbsd-vm-'));
    try {
      const net = await Cubenet.open({
        config: { prefix: 'cpt', ipv4Subnet: '10.77.0.0/24', ipv6Subnet: 'fd77::/64', stateDir: dir },
        runner: host,
        firewall: new PfFirewall(host, 'cpt'),
        endpoints: new FreeBsdEndpoints(host, 'cpt'),
        enableForwarding: false,
      });
      await net.init();
      const network = new CubenetNetwork(net);
      const lease = await network.acquire();
      expect(lease.vm.tap).toMatch(/^tap\d+$/);
      const hv = new BhyveHypervisor(new ModelBhyveSystem(host));
      const vm = await hv.boot({
        name: 'cp-demo-01',
        image: { name: 'demo', disk: '/img.raw', bootrom: '/fw.fd', memoryMiB: 256, vcpus: 1 },
        network: lease.vm,
        memory: 'private',
        runDir: '/var/run/coppice/cp-demo-01',
      });
      expect(
        vmmState(host)
          .vms.get('cp-demo-01')!
          .slots.some((s) => s.device === 'virtio-net' && s.config?.startsWith(`${lease.vm.tap},`)),
      ).toBe(true);
      const guest = lease.vm.address.split('/')[0]!;
      const out = {
        direction: 'in',
        iface: lease.vm.tap,
        proto: 'tcp',
        src: guest,
        sport: 1000,
        dst: '198.51.100.7',
        dport: 443,
      } as const;
      expect(evaluate(host, out, { createState: false }).action).toBe('block');
      await network.applyPolicy(lease.id, { allowInternetAccess: true });
      expect(evaluate(host, out).action).toBe('pass');
      await vm.destroy();
      await network.release(lease.id);
      await net.settle();
      expect((await net.audit()).ok).toBe(true);
      await net.teardown();
      await net.close();
      expect(liveProcesses(host)).toEqual([]);
      expect(vmmState(host).vms.size).toBe(0);
      expect([...netState(host).interfaces.keys()].sort()).toEqual(['em0', 'lo0']);
      expect(pfKernel(host).states).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
