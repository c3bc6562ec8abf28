/**
 * A gateway on this host's real runtime, started in-process with a cubenet, state and run folders of its own and one
 * API key: what the examples' test and the e2b-compat rig point the E2B SDKs at. `close()` removes every sandbox,
 * pool, cubenet object and folder it made, also after a failed start.
 */
import { mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { NetConfig } from '@coppice/runtime/net';
import type { TemplateSizing } from '@coppice/runtime/sandbox';
import { createApiKey } from './auth/api-keys.ts';
import { gatewayConfig } from './config.ts';
import { openRuntimeBackend, type RuntimeBackend } from './sandboxes/runtime-backend.ts';
import { Gateway } from './server.ts';
import { Store } from './store/store.ts';

export interface LocalGatewayOptions {
  /** cubenet prefix and subnets, unique on this host (e.g. prefix `cpx`, 10.81.0.0/24, fd81::/64). */
  net: Pick<NetConfig, 'prefix' | 'ipv4Subnet' | 'ipv6Subnet'>;
  /** Folder for the database, pool state and checkpoints; removed on close. */
  stateRoot: string;
  /** tmpfs folder for VM sockets and disk layers (keep it short: unix socket paths hold 107 bytes); removed on close. */
  runRoot: string;
  templates?: readonly TemplateSizing[];
  /** Fill the pools before serving (default true). */
  warm?: boolean;
  onBackgroundError?: (e: Error) => void;
}

export interface LocalGateway {
  gateway: Gateway;
  backend: RuntimeBackend;
  /** http://127.0.0.1:<port>: the control plane and the sandbox proxy in one origin. */
  url: string;
  /** `localhost:<port>`: sandbox hosts are `<port>-<sandboxID>.<domain>`. */
  domain: string;
  apiKey: string;
  /** E2B_API_URL, E2B_SANDBOX_URL and E2B_API_KEY for a program written for E2B. */
  env: { E2B_API_URL: string; E2B_SANDBOX_URL: string; E2B_API_KEY: string };
  close(): Promise<void>;
}

/** A free TCP port on loopback (the domain must name the port before the gateway listens). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startLocalGateway(o: LocalGatewayOptions): Promise<LocalGateway> {
  const cleanups: Array<() => Promise<void>> = [
    () => rm(o.stateRoot, { recursive: true, force: true }),
    () => rm(o.runRoot, { recursive: true, force: true }),
  ];
  const cleanup = async () => {
    const errors: unknown[] = [];
    for (const step of cleanups.reverse()) await step().catch((e: unknown) => errors.push(e));
    cleanups.length = 0;
    if (errors.length) throw new AggregateError(errors, 'local gateway cleanup failed');
  };
  try {
    await mkdir(o.stateRoot, { recursive: true });
    const database = join(o.stateRoot, 'gateway.db');
    const seed = Store.open(database);
    const apiKey = createApiKey(seed, 'local', 'local-gateway').key;
    seed.close();
    const backend = await openRuntimeBackend({
      stateDir: join(o.stateRoot, 'sandboxes'),
      runRoot: o.runRoot,
      net: { ...o.net, stateDir: join(o.stateRoot, 'net') },
      warm: false,
      ...(o.templates ? { templates: o.templates } : {}),
      ...(o.onBackgroundError ? { onBackgroundError: o.onBackgroundError } : {}),
    });
    cleanups.push(() => backend.destroy());
    if (o.warm ?? true) await backend.warm();
    const port = await freePort();
    const domain = `localhost:${port}`;
    const config = gatewayConfig.parse({ port, database, domain, metricsIntervalMs: 1000 });
    const gateway = await Gateway.start(config, backend);
    // Runs first on close: the gateway stops routing and arming timers, then the backend destroys what is left.
    cleanups.push(() => gateway.close());
    const url = `http://127.0.0.1:${gateway.port}`;
    return {
      gateway,
      backend,
      url,
      domain,
      apiKey,
      env: { E2B_API_URL: url, E2B_SANDBOX_URL: url, E2B_API_KEY: apiKey },
      close: cleanup,
    };
  } catch (e) {
    await cleanup().catch(() => undefined);
    throw e;
  }
}
