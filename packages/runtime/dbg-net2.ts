import { ProcessRunner } from './src/host/command-runner.ts';
import { QemuHypervisor } from './src/hypervisor/qemu/qemu.ts';
import { templateImage } from './src/hypervisor/qemu/guest-image.ts';
import { execSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
const runner = new ProcessRunner();
const name = process.argv[2]!;
const dir = `/var/cache/coppice/templates/${name}`;
const hv = new QemuHypervisor({ runner, tbSizeMiB: 4 });
const image = templateImage(dir, name, 256, 1);
mkdirSync('/tmp/cpgdbg', { recursive: true });
let t0 = performance.now();
const tpl = await hv.boot({ name: 'cpg-dbgtpl', image, memory: 'template', runDir: '/run/cpg-dbgtpl' });
let cp;
try {
  await tpl.probe({ timeoutMs: 900000 });
  console.log('boot+probe', (performance.now() - t0).toFixed(0));
  cp = await tpl.checkpoint('/tmp/cpgdbg/base.state');
} finally { await tpl.destroy(); }
execSync('ip tuntap add cpgdbg0 mode tap; ip addr add 10.99.0.1/24 dev cpgdbg0; ip link set cpgdbg0 up');
try {
  for (let i = 0; i < 2; i++) {
    t0 = performance.now();
    const vm: any = await hv.restore({ name: 'cpg-dbg', image, memory: 'template', runDir: '/run/cpg-dbg', network: { tap: 'cpgdbg0', mac: '52:54:00:12:34:56', address: '10.99.0.2/24', gateway: '10.99.0.1' } }, cp);
    const r = performance.now() - t0;
    try {
      await vm.configureNetwork(60000);
      console.log('restore', r.toFixed(0), 'net configured at', (performance.now() - t0).toFixed(0));
      const p = await vm.probe({ timeoutMs: 60000, via: 'http', http: { port: 49983, path: '/health' } });
      console.log('health probe', p.toFixed(0));
    } finally { await vm.destroy(); }
  }
} finally { execSync('ip link del cpgdbg0'); await hv.checkpoints.removeCheckpoint(cp); rmSync('/tmp/cpgdbg', { recursive: true, force: true }); }
