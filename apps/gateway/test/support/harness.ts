import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { gatewayConfig, type GatewayConfig } from '../../src/config.ts';
import { Gateway } from '../../src/server.ts';
import { Store } from '../../src/store/store.ts';
import { LoopbackBackend } from './loopback-backend.ts';

export interface Harness {
  gateway: Gateway;
  backend: LoopbackBackend;
  url: string;
  keyA: string;
  keyB: string;
  dir: string;
  config: GatewayConfig;
  api(path: string, init?: RequestInit & { key?: string | null }): Promise<Response>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(overrides: Partial<GatewayConfig> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'cpgw-'));
  const database = join(dir, 'gateway.db');
  const seed = Store.open(database);
  const keyA = createApiKey(seed, 'team-a', 'test').key;
  const keyB = createApiKey(seed, 'team-b', 'test').key;
  seed.close();
  const config = gatewayConfig.parse({ port: 0, database, metricsIntervalMs: 0, domain: 'sandbox.test', ...overrides });
  const backend = new LoopbackBackend();
  const h: Harness = {
    gateway: await Gateway.start(config, backend),
    backend,
    url: '',
    keyA,
    keyB,
    dir,
    config,
    async api(path, init = {}) {
      const headers = new Headers(init.headers);
      const key = init.key === undefined ? keyA : init.key;
      if (key) headers.set('X-API-KEY', key);
      if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
      return fetch(`${h.url}${path}`, { ...init, headers });
    },
    async restart() {
      await h.gateway.close();
      h.gateway = await Gateway.start({ ...config, port: 0 }, backend);
      h.url = `http://127.0.0.1:${h.gateway.port}`;
    },
    async close() {
      await h.gateway.close();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  h.url = `http://127.0.0.1:${h.gateway.port}`;
  return h;
}
