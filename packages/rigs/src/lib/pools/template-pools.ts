/**
 * What the rigs of the Debian templates (`base`, `code-interpreter-v1`) share: each template's built image sized as
 * the sandbox host sizes it, a cubenet of the rigs' own (prefix "cpz") so the host reaches each sandbox's agent over
 * its own address, and pools whose readiness is the agent's GET /health over that address and whose hot entries are
 * warmed as the sandbox host warms them, destroyed when the rig ends.
 */
import { basename } from 'node:path';
import type { Cubenet } from '@coppice/runtime/net';
import { locateTemplate, templateImage, type TemplateName } from '@coppice/runtime/hypervisor';
import type { GuestImage } from '@coppice/runtime/hypervisor';
import { Pool, defaultPoolConfig, type PoolMode, type PoolOptions } from '@coppice/runtime/pool';
import { CubenetNetwork } from '@coppice/runtime/pool';
import { AGENT_PORT, warmAgentOf } from '@coppice/runtime/sandbox';
import { DEFAULT_TEMPLATES } from '@coppice/runtime/sandbox';
import type { RigContext } from '../../harness/rig-context.ts';
import { openRigCubenet, type RigNet } from '../net/rig-cubenet.ts';
import type { QemuRigSetup } from './qemu-pools.ts';

export const TEMPLATE_NAMES = ['base', 'code-interpreter-v1'] as const satisfies readonly TemplateName[];

/** The template rigs' cubenet: distinct from the core network rigs', the edge rigs' and the gateway's (`cps`). */
export const TEMPLATE_RIG_NET: RigNet = { prefix: 'cpz', ipv4Subnet: '10.83.0.0/24', ipv6Subnet: 'fd83::/64' };

/** The agent's readiness probe, as the sandbox host's pools use it. */
export const AGENT_HEALTH = { via: 'http', port: AGENT_PORT, path: '/health' } as const;

export function openTemplateRigCubenet(ctx: RigContext): Promise<Cubenet> {
  return openRigCubenet(ctx, {}, TEMPLATE_RIG_NET);
}

/** A template's image at the memory and vCPUs the sandbox host gives it (recorded in run.params). */
export async function templateRigImage(ctx: RigContext, name: TemplateName): Promise<GuestImage> {
  const sizing = DEFAULT_TEMPLATES.find((t) => t.id === name);
  if (!sizing) throw new Error(`no sizing for template ${name}`);
  const dir = await locateTemplate(ctx.runner, name);
  ctx.param(`template.${name}`, { dir, memoryMiB: sizing.memoryMiB, vcpus: sizing.vcpus });
  return templateImage(dir, basename(dir), sizing.memoryMiB, sizing.vcpus);
}

/** A pool of one template on the rig's cubenet, ready when the agent answers; destroyed when the rig ends. */
export async function openTemplatePool(
  ctx: RigContext,
  q: QemuRigSetup,
  net: Cubenet,
  poolName: string,
  image: GuestImage,
  mode: PoolMode,
  size: { hot: number; durable: number },
  onFill?: PoolOptions['onFill'],
): Promise<Pool> {
  const config = {
    ...defaultPoolConfig(poolName, image, mode),
    size: { ...size },
    stateDir: q.stateDir,
    runRoot: q.runRoot,
    refillConcurrency: 2,
    readiness: AGENT_HEALTH,
  };
  const pool = await Pool.open({
    config,
    hypervisor: q.hv,
    network: new CubenetNetwork(net),
    warmHot: warmAgentOf,
    onBackgroundError: (e) => ctx.log(`${poolName}: background: ${e.message}`),
    ...(onFill ? { onFill } : {}),
  });
  ctx.defer(async () => {
    await pool.destroyAll();
    await pool.close();
  });
  return pool;
}
