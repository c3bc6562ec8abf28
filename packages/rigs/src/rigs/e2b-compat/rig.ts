/**
 * e2b-compat: the official E2B SDKs, unchanged, against a gateway started in this process on the real runtime; every
 * SDK call class is one check (see manifest.ts).
 */
import { GUEST_TEMPLATES_ENABLED, GUEST_TEMPLATES_OFF } from '../../lib/pools/template-gate.ts';
import { join } from 'node:path';
import { startLocalGateway } from '@coppice/gateway';
import type { Sandbox } from 'e2b';
import { locateTemplate } from '@coppice/runtime/hypervisor';
import type { PreflightContext, RigContext } from '../../harness/rig-context.ts';
import { checkRecorder, unavailable } from './checks.ts';
import { commandChecks } from './commands.ts';
import { controlPlaneChecks, pauseResumeKillChecks } from './control-plane.ts';
import { filesystemChecks } from './filesystem.ts';
import { hostRoutingChecks } from './host-routing.ts';
import { kernelChecks } from './kernel.ts';

/** cubenet of the rig's own: never the operator's gateway (cps) or the examples' test (cpxe, 10.81.0.128/25). */
const RIG_NET = { prefix: 'cpx', ipv4Subnet: '10.81.0.0/25', ipv6Subnet: 'fd81::/64' };
const E2B_ENV = ['E2B_API_URL', 'E2B_SANDBOX_URL', 'E2B_API_KEY', 'E2B_DOMAIN', 'E2B_DEBUG'] as const;

export async function preflight(ctx: PreflightContext): Promise<string[]> {
  if (!GUEST_TEMPLATES_ENABLED) return [GUEST_TEMPLATES_OFF];
  const reasons: string[] = [];
  for (const template of ['base', 'code-interpreter-v1'] as const) {
    await locateTemplate(ctx.runner, template).catch((e: Error) => {
      reasons.push(
        `template ${template} is not built (packages/runtime/guest/build-template.sh ${template}): ${e.message.split('\n')[0]}`,
      );
    });
  }
  return reasons;
}

export async function run(ctx: RigContext): Promise<void> {
  ctx.progress('gateway: fill pools', 0, 1);
  const t0 = performance.now();
  const local = await startLocalGateway({
    net: RIG_NET,
    stateRoot: join(ctx.tmpdir, 'gateway'),
    runRoot: `/run/cpx-${process.pid}`,
    onBackgroundError: (e) => ctx.log(`gateway background: ${e.message}`),
  });
  ctx.defer(() => local.close());
  ctx.param('gatewayStartSeconds', Math.round((performance.now() - t0) / 100) / 10);
  ctx.param('net', RIG_NET);
  ctx.param('sdk', { e2b: '2.51.0', '@e2b/code-interpreter': '2.8.0' });

  // What an unchanged E2B program is given: the three variables (restored afterwards; the harness runs other rigs).
  const saved = E2B_ENV.map((name) => [name, process.env[name]] as const);
  ctx.defer(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  for (const name of E2B_ENV) delete process.env[name];
  Object.assign(process.env, local.env);

  const checks = checkRecorder(ctx, 120_000);
  const sandbox = (await controlPlaneChecks(checks)) ?? unavailable<Sandbox>('Sandbox.create failed');
  await commandChecks(checks, sandbox);
  await filesystemChecks(checks, sandbox, local.url);
  await hostRoutingChecks(ctx, checks, sandbox, local.url);
  await pauseResumeKillChecks(checks, sandbox);
  await kernelChecks(checks);
}
