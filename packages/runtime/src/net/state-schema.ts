/**
 * What a cubenet state file must hold to be acted on (zod): each value held to the very parser it passed when it was
 * written (src/net/validate.ts, rate-limit.ts), since reconcile puts these values into firewall rules and commands.
 */
import { z } from 'zod';
import { viaParser } from '../host/read-back.ts';
import { parseRateLimit } from './rate-limit/rate-limit.ts';
import type { SandboxId } from './types.ts';
import { parseForward, parseInterfaceName, parsePolicy, parseSandboxAddresses, parseSandboxId } from './validate.ts';

/** The record of sandbox `id` (the id its file name carries; the record must say the same). */
export function sandboxRecordSchema(id: SandboxId) {
  return z.object({
    id: viaParser(parseSandboxId).refine((v) => v === id, `expected ${id}, the sandbox its file name names`),
    host: z
      .number()
      .int()
      .min(1)
      .max(2 ** 32),
    addresses: viaParser(parseSandboxAddresses),
    endpoint: z.object({
      kind: z.enum(['tap', 'isolated']),
      hostInterface: viaParser(parseInterfaceName),
      isolation: viaParser(parseInterfaceName).optional(),
    }),
    policy: viaParser(parsePolicy),
    forwards: z.array(viaParser(parseForward)).default([]),
    createdAt: z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'expected an ISO date-time'),
    rateLimit: viaParser(parseRateLimit).optional(),
  });
}
