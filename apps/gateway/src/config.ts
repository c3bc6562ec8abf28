/** The gateway's configuration, validated: flags and environment are text until they pass here. */
import { z } from 'zod';
import { DEFAULT_REQUEST_LIMITS } from './auth/request-limits.ts';
import { DEFAULT_LIMITS } from './sandboxes/limits.ts';

export const gatewayConfig = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(49982),
  /** Sandbox hosts are `<port>-<sandboxID>.<domain>`; with a local gateway, include its port (e.g. `localhost:49982`). */
  domain: z
    .string()
    .regex(/^[a-z0-9.-]+(:\d{1,5})?$/, 'a host name, optionally with :port')
    .default('localhost:49982'),
  /** The SQLite database file. */
  database: z.string().min(1).default('/var/lib/coppice/gateway/gateway.db'),
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  metricsIntervalMs: z.number().int().min(0).default(5000),
  limits: z
    .object({
      maxSandboxes: z.number().int().min(0),
      maxSandboxesPerTeam: z.number().int().min(0),
      maxMemoryMB: z.number().int().min(0),
      maxTimeoutSeconds: z.number().int().min(1),
    })
    .default(DEFAULT_LIMITS),
  requests: z
    .object({
      ratePerSecond: z.number().positive(),
      burst: z.number().int().min(1),
      concurrent: z.number().int().min(1),
    })
    .default(DEFAULT_REQUEST_LIMITS),
});

export type GatewayConfig = z.infer<typeof gatewayConfig>;
