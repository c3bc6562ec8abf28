/**
 * A process that is only a pool controller: it opens one template's `Pool` from @coppice/runtime (prewarm, the
 * template checkpoint already made by the rig), and otherwise does what it is told on stdin, one command a line,
 * answering one JSON line each on stdout:
 *
 *   (on start)  → {"event":"open","pid":…}
 *   warm N      → {"event":"warmed","n":N,"ms":…,"pids":[…]}     N hot entries: restored, probed, SIGSTOPped
 *                 (meanwhile {"event":"progress","done":k} every 2 s)
 *   usage       → {"event":"usage",…process.memoryUsage()}         where the heap/external memory is, for the report
 *   drain       → {"event":"drained","n":…}
 *   (stdin end) → closes the pool (VMs stay for the next controller, as after `coppice pool warm`) and exits 0
 *
 * Between commands it holds, idle, so the density rig can read its memory from /proc as the kernel accounts it.
 * Arguments: one JSON object (see ControllerArgs).
 */
import { createInterface } from 'node:readline';
import { ProcessRunner } from '@coppice/runtime';
import { QemuHypervisor } from '@coppice/runtime/hypervisor';
import { guestImage } from '@coppice/runtime/hypervisor';
import { Pool, defaultPoolConfig } from '@coppice/runtime/pool';

export interface ControllerArgs {
  template: string;
  guestDir: string;
  imageName: string;
  memoryMiB: number;
  stateDir: string;
  runRoot: string;
  tbSizeMiB: number;
  accel: 'kvm' | 'tcg';
  refillConcurrency: number;
  /** The largest `warm N` the rig will ask for (the pool refuses counts above its maxEntries). */
  maxEntries: number;
}

function say(message: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(message) + '\n');
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2] ?? '') as ControllerArgs;
  const hv = new QemuHypervisor({
    runner: new ProcessRunner(),
    tbSizeMiB: a.tbSizeMiB,
    // The rig already chose the accelerator; no KVM probe boot here.
    accel: a.accel === 'kvm' ? { kind: 'kvm' } : { kind: 'tcg', tbSizeMiB: a.tbSizeMiB },
  });
  const config = {
    ...defaultPoolConfig(a.template, guestImage(a.guestDir, a.imageName, a.memoryMiB), 'prewarm'),
    size: { hot: 0, durable: 0 },
    refill: 'manual' as const,
    refillConcurrency: a.refillConcurrency,
    maxEntries: a.maxEntries,
    stateDir: a.stateDir,
    runRoot: a.runRoot,
  };
  const pool = await Pool.open({ config, hypervisor: hv });
  if (!pool.hasBase) throw new Error(`pool ${a.template} has no template checkpoint in ${a.stateDir}`);
  say({ event: 'open', pid: process.pid });

  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'warm') {
      const n = Number(arg);
      const t0 = performance.now();
      const ticker = setInterval(() => say({ event: 'progress', done: pool.list().length }), 2000);
      try {
        await pool.warm(n);
      } finally {
        clearInterval(ticker);
      }
      const pids = pool
        .list()
        .map((e) => e.pid)
        .filter((p): p is number => p !== undefined);
      say({ event: 'warmed', n, ms: performance.now() - t0, pids });
    } else if (cmd === 'usage') {
      say({ event: 'usage', ...process.memoryUsage() });
    } else if (cmd === 'drain') {
      say({ event: 'drained', n: await pool.drain() });
    } else {
      say({ event: 'error', message: `unknown command "${line}"` });
    }
  }
  await pool.close();
}

main().catch((e: Error) => {
  say({ event: 'error', message: e.message });
  process.exitCode = 1;
});
