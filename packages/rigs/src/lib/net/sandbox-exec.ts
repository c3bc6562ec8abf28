import type { Endpoint } from '@coppice/runtime/net';
import type { PreflightContext } from '../../harness/rig-context.ts';

/** argv prefix that runs a command inside a VM-less sandbox (`ip netns exec NS` / `jexec JAIL`). */
export function sandboxExec(ctx: PreflightContext, endpoint: Endpoint): string[] {
  if (!endpoint.isolation) throw new Error(`endpoint ${endpoint.hostInterface} is not an isolated (VM-less) sandbox`);
  return ctx.platform === 'freebsd' ? ['jexec', endpoint.isolation] : ['ip', 'netns', 'exec', endpoint.isolation];
}
