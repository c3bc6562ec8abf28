/**
 * Per-sandbox egress bandwidth limits: what a sandbox sends is shaped to a configured rate (Linux: tc on the
 * host side of its endpoint; FreeBSD: a dummynet pipe that pf's `dnpipe` on the sandbox's anchor sends it through).
 * One limiter serves one cubenet prefix. Its kernel objects are named after the sandbox's slot (its host number in
 * the subnet, unique within the prefix), so audit and reconcile can tell whose an object is from the kernel alone.
 */
import type { InterfaceName, SandboxId } from '../types.ts';
import { NetInputError } from '../validate.ts';

export interface RateLimit {
  /** Egress rate in Mbit/s (10^6 bit/s), counted on link-layer frames, as tc and dummynet count them. */
  egressMbit: number;
}

/**
 * The highest rate accepted: dummynet keeps a pipe's bandwidth in a C int of bit/s (dnctl rejects 2^31 and up), and
 * one bound for both platforms keeps a policy portable.
 */
export const MAX_EGRESS_MBIT = 2000;

/** Validates `{ egressMbit }`: a whole number of Mbit/s, 1 to MAX_EGRESS_MBIT; nothing else in the object. */
export function parseRateLimit(input: unknown): RateLimit {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new NetInputError('rate limit', 'expected an object { egressMbit }');
  const extra = Object.keys(input).filter((k) => k !== 'egressMbit');
  if (extra.length)
    throw new NetInputError('rate limit', `unknown field ${JSON.stringify(extra[0])} (only egressMbit)`);
  const v = (input as { egressMbit?: unknown }).egressMbit;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_EGRESS_MBIT) {
    throw new NetInputError(
      'rate limit',
      `egressMbit must be a whole number of Mbit/s from 1 to ${MAX_EGRESS_MBIT}, got ${JSON.stringify(v)}`,
    );
  }
  return { egressMbit: v };
}

/** The sandbox a limit is for. */
export interface RateLimitTarget {
  id: SandboxId;
  /** The sandbox's host number in the subnet: names the limiter's kernel objects (ifb, pipe number). */
  slot: number;
  /** The sandbox's host-side interface (tap, veth host end, epair "a" end). */
  hostInterface: InterfaceName;
}

/** One rate-limit object the kernel holds under the prefix, as the limiter reads it back. */
export interface KernelRateLimit {
  /** Human-readable, e.g. "ifb cpt_rl5", "ingress redirect on cpt-e0a1b2c3", "dummynet pipe 10005". */
  object: string;
  /** The slot the object is named after (undefined for one tied to an interface, not a slot). */
  slot?: number;
  /** The interface the object is attached to, if any. */
  hostInterface?: string;
  /** The rate the kernel enforces, where the object has one. */
  egressMbit?: number;
}

export interface RateLimiter {
  readonly kind: 'tc' | 'dummynet';
  /**
   * Whether the firewall's rules carry the limit (pf's `dnpipe`): cubenet then re-applies the sandbox's rules
   * when its limit is set or cleared. tc works beside the firewall and needs no re-apply.
   */
  readonly inFirewall: boolean;
  /** Reasons this host cannot enforce limits (empty when it can). Changes nothing. */
  preflight(): Promise<string[]>;
  /** Installs or replaces the limit (idempotent). */
  apply(target: RateLimitTarget, limit: RateLimit): Promise<void>;
  /** Removes the limit (idempotent: nothing there is fine). */
  clear(target: RateLimitTarget): Promise<void>;
  /** Every rate-limit object of the prefix in the kernel. */
  inventory(): Promise<KernelRateLimit[]>;
  /** Removes one object inventory() returned (reconcile). Idempotent. */
  remove(object: KernelRateLimit): Promise<void>;
}
