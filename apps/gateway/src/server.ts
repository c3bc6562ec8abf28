/**
 * One HTTP origin for the control plane and every sandbox: requests naming a sandbox (by header or host name) are
 * proxied to it, everything else goes to the Hono API.
 */
import { getRequestListener } from '@hono/node-server';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestLimiter } from './auth/request-limits.ts';
import type { GatewayConfig } from './config.ts';
import { mayAccess } from './proxy/access.ts';
import { forward } from './proxy/proxy.ts';
import { routeOf } from './proxy/route-target.ts';
import { buildApi } from './routes/api.ts';
import type { SandboxBackend } from './sandboxes/backend.ts';
import { SandboxService, type ReconcileReport } from './sandboxes/service.ts';
import { Store } from './store/store.ts';

function sendError(res: import('node:http').ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ code: status, message }));
}

export class Gateway {
  private constructor(
    readonly store: Store,
    readonly service: SandboxService,
    private readonly server: Server,
    readonly reconciled: ReconcileReport,
  ) {}

  /** Opens the store, reconciles it with the backend, and listens. */
  static async start(config: GatewayConfig, backend: SandboxBackend): Promise<Gateway> {
    const store = Store.open(config.database);
    const service = new SandboxService(store, backend, config.limits, 'coppice', {
      metricsIntervalMs: config.metricsIntervalMs,
    });
    let reconciled: ReconcileReport;
    try {
      reconciled = await service.reconcile();
    } catch (e) {
      await service.close();
      store.close();
      throw e;
    }
    const api = buildApi({
      store,
      service,
      limiter: new RequestLimiter(config.requests),
      domain: config.domain,
      maxBodyBytes: config.maxBodyBytes,
      startedAt: new Date().toISOString(),
    });
    const apiListener = getRequestListener(api.fetch);
    const server = createServer((req, res) => {
      const route = routeOf(req.headers, config.domain);
      if (route.kind === 'api') {
        void apiListener(req, res);
        return;
      }
      if (route.kind === 'invalid') return sendError(res, 400, route.reason);
      const { sandboxId, port } = route.target;
      const sandbox = service.route(sandboxId);
      if (!sandbox?.address) {
        const known = store.getSandbox(sandboxId);
        return sendError(
          res,
          known ? 409 : 404,
          known ? `sandbox '${sandboxId}' is ${known.state}, not running` : `sandbox '${sandboxId}' not found`,
        );
      }
      if (!mayAccess(sandbox, port, req.method ?? 'GET', req.url ?? '/', req.headers)) {
        return sendError(res, 401, `sandbox port ${port} needs the sandbox's access token`);
      }
      forward(req, res, sandbox.address, port);
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    return new Gateway(store, service, server, reconciled);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops listening; sandboxes keep running (a restart re-adopts them). */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.service.close();
    this.store.close();
  }
}
