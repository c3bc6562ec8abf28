/**
 * The floor of a create: the code interpreter template's pool itself, opened on the rig's layout exactly as
 * SandboxHost.open configures it (same image name, sizes, readiness probe on the agent's /health, hot entries warmed
 * by the same hook, cubenet endpoints), so that the gateway opened afterwards on the same folders adopts its entries
 * and its template checkpoint.
 */
import { basename } from 'node:path';
import type { CommandRunner } from '@coppice/runtime';
import { locateTemplate, templateImage } from '@coppice/runtime/hypervisor';
import { QemuHypervisor } from '@coppice/runtime/hypervisor';
import { openCubenet } from '@coppice/runtime/net';
import type { NetConfig } from '@coppice/runtime/net';
import { CubenetNetwork, Pool, defaultPoolConfig } from '@coppice/runtime/pool';
import { AGENT_PORT, warmAgentOf } from '@coppice/runtime/sandbox';
import { hostOptions, TEMPLATE, type RigLayout } from './layout.ts';

export interface FloorPool {
  pool: Pool;
  /** Closes the pool and cubenet, leaving the entries for the gateway to adopt. */
  close(): Promise<void>;
}

export async function openFloorPool(
  runner: CommandRunner,
  l: RigLayout,
  onBackgroundError: (e: Error) => void,
): Promise<FloorPool> {
  const o = hostOptions(l);
  const dir = await locateTemplate(runner, TEMPLATE);
  const image = templateImage(dir, basename(dir), l.memoryMiB, 1);
  const net = await openCubenet({ runner, config: o.net as NetConfig, onBackgroundError });
  let pool: Pool;
  try {
    await net.init();
    pool = await Pool.open({
      config: {
        ...defaultPoolConfig(TEMPLATE, image, 'two-tier'),
        size: { hot: l.pool.hot, durable: l.pool.durable },
        refillConcurrency: l.pool.refillConcurrency,
        stateDir: l.stateDir,
        runRoot: l.runRoot,
        readiness: { via: 'http' as const, port: AGENT_PORT, path: '/health' },
      },
      hypervisor: new QemuHypervisor({ runner, tbSizeMiB: l.tbSizeMiB }),
      network: new CubenetNetwork(net),
      warmHot: warmAgentOf,
      onBackgroundError,
    });
  } catch (e) {
    await net.close();
    throw e;
  }
  return {
    pool,
    async close() {
      await pool.close();
      await net.close();
    },
  };
}
