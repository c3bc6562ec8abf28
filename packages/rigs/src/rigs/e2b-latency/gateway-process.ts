/**
 * The gateway as a process of its own, so the rig can SIGKILL it mid-create and measure its RSS apart from the
 * rig's: opens the rig's runtime layout (argv[2], JSON), serves on a loopback port, prints one JSON line
 * `{"port":N,"reconciled":{...}}` when it listens, and closes cleanly on SIGTERM (sandboxes outlive it).
 */
import { Gateway, gatewayConfig, openRuntimeBackend } from '@coppice/gateway';
import { hostOptions, RIG_GATEWAY_LIMITS, type RigLayout } from './layout.ts';

const layout = JSON.parse(process.argv[2] ?? '') as RigLayout;
const backend = await openRuntimeBackend({
  ...hostOptions(layout),
  onBackgroundError: (e) => console.error(`background: ${e.message}`),
});
const gateway = await Gateway.start(
  gatewayConfig.parse({ database: layout.database, port: 0, domain: 'localhost', ...RIG_GATEWAY_LIMITS }),
  backend,
);
console.log(JSON.stringify({ port: gateway.port, reconciled: gateway.reconciled }));
await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
await gateway.close();
await backend.close();
