import { ProcessRunner } from './src/host/command-runner.ts';
import { QemuHypervisor } from './src/hypervisor/qemu/qemu.ts';
import { templateImage } from './src/hypervisor/qemu/guest-image.ts';
import { execSync } from 'node:child_process';
const runner = new ProcessRunner();
const name = process.argv[2]!;
const hv = new QemuHypervisor({ runner, tbSizeMiB: 4 });
const image = templateImage(`/var/cache/coppice/templates/${name}`, name, 256, 1);
execSync('ip tuntap add cpgdbg1 mode tap; ip addr add 10.98.0.1/24 dev cpgdbg1; ip link set cpgdbg1 up');
const t0 = performance.now();
const vm: any = await hv.boot({ name: 'cpg-dbgboot', image, memory: 'private', runDir: '/run/cpg-dbgboot', network: { tap: 'cpgdbg1', mac: '52:54:00:12:34:57', address: '10.98.0.2/24', gateway: '10.98.0.1' } });
try {
  await vm.probe({ timeoutMs: 900000 });
  console.log('serial ready', (performance.now() - t0).toFixed(0));
  const p = await vm.probe({ timeoutMs: 500000, via: 'http', http: { port: 49983, path: '/health' } });
  console.log('health answered after', p.toFixed(0), 'at', (performance.now() - t0).toFixed(0));
} catch (e) { console.log('ERR', (e as Error).message); }
finally { await vm.destroy(); execSync('ip link del cpgdbg1; rm -rf /tmp/cpgdbg2'); }
