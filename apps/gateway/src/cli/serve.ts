/** `coppice-gateway serve`: listens until SIGINT/SIGTERM; sandboxes outlive it and are re-adopted on the next start. */
import { gatewayConfig } from '../config.ts';
import { Gateway } from '../server.ts';
import { openRuntimeBackend } from '../sandboxes/runtime-backend.ts';
import { flag } from './keys.ts';

export async function serveCommand(args: string[], database: string): Promise<number> {
  const port = flag(args, '--port');
  const config = gatewayConfig.parse({
    database,
    host: flag(args, '--host') ?? undefined,
    port: port === undefined ? undefined : Number(port),
    domain: flag(args, '--domain') ?? (port === undefined ? undefined : `localhost:${port}`),
  });
  const backend = await openRuntimeBackend();
  const gateway = await Gateway.start(config, backend);
  console.log(`coppice-gateway listening on http://${config.host}:${gateway.port} (sandbox hosts *.${config.domain})`);
  console.log(`reconciled: ${JSON.stringify(gateway.reconciled)}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await gateway.close();
  await backend.close();
  return 0;
}
