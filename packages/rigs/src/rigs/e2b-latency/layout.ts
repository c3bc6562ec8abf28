/**
 * Where the e2b-latency rig's runtime lives: one layout shared by the rig and the gateway child process it starts,
 * so both open the same pools, cubenet and database (and never the operator's, whose prefix is `cps`).
 */
import { join } from 'node:path';
import type { OpenSandboxHostOptions, TemplateSizing } from '@coppice/runtime/sandbox';

/** The template the SDK's `Sandbox.create()` of @e2b/code-interpreter asks for. */
export const TEMPLATE = 'code-interpreter-v1';

export interface RigLayout {
  stateDir: string;
  runRoot: string;
  database: string;
  /** The code interpreter pool's size: its hot tier bounds the creates that are a SIGCONT, the rest restore. */
  pool: { hot: number; durable: number; refillConcurrency: number };
  memoryMiB: number;
  tbSizeMiB: number;
}

export function rigLayout(
  tmpdir: string,
  runRoot: string,
  pool: RigLayout['pool'],
  memoryMiB: number,
  tbSizeMiB: number,
): RigLayout {
  return {
    stateDir: join(tmpdir, 'sandboxes'),
    runRoot,
    database: join(tmpdir, 'gateway.db'),
    pool,
    memoryMiB,
    tbSizeMiB,
  };
}

/** openSandboxHost's options for the layout: prefix `cpy` on 10.82.0.0/24 and fd82::/64, one template. */
export function hostOptions(l: RigLayout): OpenSandboxHostOptions {
  const templates: TemplateSizing[] = [
    {
      id: TEMPLATE,
      aliases: ['code-interpreter'],
      memoryMiB: l.memoryMiB,
      vcpus: 1,
      pool: { mode: 'two-tier', ...l.pool },
    },
  ];
  return {
    stateDir: l.stateDir,
    runRoot: l.runRoot,
    tbSizeMiB: l.tbSizeMiB,
    templates,
    net: {
      prefix: 'cpy',
      ipv4Subnet: '10.82.0.0/24',
      ipv6Subnet: 'fd82::/64',
      stateDir: join(l.stateDir, 'net'),
    },
  };
}

/** The gateway's limits for the rig: room for every sandbox the rig holds, and no request throttling in the way. */
export const RIG_GATEWAY_LIMITS = {
  limits: { maxSandboxes: 1000, maxSandboxesPerTeam: 1000, maxMemoryMB: 1024 * 1024, maxTimeoutSeconds: 3600 },
  requests: { ratePerSecond: 10_000, burst: 10_000, concurrent: 1000 },
  metricsIntervalMs: 0,
};
