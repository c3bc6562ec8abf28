/** A sandbox as callers see it, and the views of one state-file record the firewall and rate limiter take. */
import { randomBytes } from 'node:crypto';
import type { Endpoint } from '../endpoint/endpoint.ts';
import type { SandboxRules } from '../firewall/firewall.ts';
import type { RateLimit, RateLimitTarget } from '../rate-limit/rate-limit.ts';
import type { SandboxRecord } from '../state.ts';
import type { EndpointKind, PortForward, SandboxAddresses, SandboxId, SandboxPolicy } from '../types.ts';

export interface Sandbox {
  id: SandboxId;
  addresses: SandboxAddresses;
  endpoint: Endpoint;
  policy: SandboxPolicy;
  forwards: PortForward[];
  createdAt: string;
  rateLimit?: RateLimit;
}

export interface CheckoutOptions {
  kind?: EndpointKind;
  policy?: unknown;
  forwards?: unknown[];
  /** Choose the id (12 hex) instead of a random one. */
  id?: unknown;
  /** Egress limit in force from the sandbox's first packet (`{ egressMbit }`, as setRateLimit). */
  rateLimit?: unknown;
}

export function rulesOf(r: SandboxRecord): SandboxRules {
  return {
    id: r.id,
    addresses: r.addresses,
    policy: r.policy,
    forwards: r.forwards,
    hostInterface: r.endpoint.hostInterface,
    ...(r.rateLimit ? { rateLimit: { ...r.rateLimit, slot: r.host } } : {}),
  };
}

export function rateTargetOf(r: SandboxRecord): RateLimitTarget {
  return { id: r.id, slot: r.host, hostInterface: r.endpoint.hostInterface };
}

export function toSandbox(r: SandboxRecord): Sandbox {
  return {
    id: r.id,
    addresses: { ...r.addresses },
    endpoint: { ...r.endpoint },
    policy: structuredClone(r.policy),
    forwards: r.forwards.map((f) => ({ ...f })),
    createdAt: r.createdAt,
    ...(r.rateLimit ? { rateLimit: { ...r.rateLimit } } : {}),
  };
}

export function newSandboxId(): SandboxId {
  return randomBytes(6).toString('hex') as SandboxId;
}
