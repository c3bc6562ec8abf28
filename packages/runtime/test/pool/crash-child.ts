/** Child of the crash test: fills a two-tier pool, checks one sandbox out, starts an unrecorded VM, reports, then waits to be SIGKILLed. */
import { join } from 'node:path';
import { ProcessRunner } from '../../src/host/command-runner.ts';
import { QemuHypervisor } from '../../src/hypervisor/qemu/qemu.ts';
import { defaultPoolConfig, Pool } from '../../src/pool/index.ts';

const { image, stateDir, runRoot, template } = JSON.parse(process.argv[2]!);
const hv = new QemuHypervisor({ runner: new ProcessRunner(), tbSizeMiB: 4 });
const pool = await Pool.open({
  config: {
    ...defaultPoolConfig(template, image, 'two-tier'),
    size: { hot: 2, durable: 1 },
    stateDir,
    runRoot,
    refill: 'manual',
  },
  hypervisor: hv,
});
await pool.warm();
// One hot entry handed out just before the crash: recorded only by its journal line.
const out = await pool.checkout();
const hot = pool.list().find((e) => e.tier === 'hot' && e.status === 'idle')!;
const durable = pool.list().find((e) => e.tier === 'durable')!;
// A VM this controller started but had not recorded yet when it died.
const base = (await import('node:fs/promises')).readFile(join(stateDir, `${template}.json`), 'utf8');
const orphan = await hv.restore(
  { name: 'cpt-orphan', image, memory: 'template', runDir: join(runRoot, template, `${template}-0rphan00`) },
  JSON.parse(await base).base,
);
process.stdout.write(
  JSON.stringify({
    controllerPid: process.pid,
    hotPid: hot.pid,
    orphanPid: orphan.pid,
    durableId: durable.id,
    outId: out.id,
    outPid: out.vm.pid,
  }) + '\n',
);
setInterval(() => {}, 1000);
