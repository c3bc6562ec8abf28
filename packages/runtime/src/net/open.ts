/**
 * One way to open cubenet on whatever host this is: the FreeBSD backends (pf, jails, dummynet) on FreeBSD, the Linux
 * ones (nftables, namespaces, tc) on Linux. Used by the `coppice net` CLI and by the rigs, so both platforms run
 * the same calls.
 */
import { platform as osPlatform } from 'node:os';
import type { CommandRunner } from '../host/command-runner.ts';
import type { Cubenet, CubenetOptions } from './cubenet.ts';
import { openFreeBSDCubenet } from './freebsd.ts';
import { openLinuxCubenet } from './linux.ts';
import { TcRateLimiter } from './rate-limit/tc.ts';
import { DEFAULT_NET_CONFIG, type NetConfig } from './types.ts';
import { ProcessRunner } from '../host/command-runner.ts';

export type CubenetPlatform = 'linux' | 'freebsd';

export interface OpenCubenetOptions
  extends Partial<Omit<CubenetOptions, 'config' | 'firewall' | 'endpoints' | 'runner' | 'rateLimiter' | 'forwarding'>> {
  config?: Partial<NetConfig>;
  runner?: CommandRunner;
  /** Default: the platform this process runs on. */
  platform?: CubenetPlatform;
  /** Per-sandbox rate limits (Linux: tc; FreeBSD: dummynet); init's preflight then checks for them. Default true. */
  rateLimits?: boolean;
  /** FreeBSD: interface egress NAT leaves through. (Linux masquerades on whichever interface routes out.) */
  egressInterface?: string;
  /** FreeBSD: sandboxes that may exist at once, checked against pf's limits (default: the allocatable range). */
  maxSandboxes?: number;
}

export function hostPlatform(): CubenetPlatform {
  const p = osPlatform();
  if (p === 'linux' || p === 'freebsd') return p;
  throw new Error(`cubenet runs on Linux and FreeBSD, not on ${p}`);
}

export function openCubenet(options: OpenCubenetOptions = {}): Promise<Cubenet> {
  const { platform = hostPlatform(), rateLimits = true, egressInterface, maxSandboxes, ...rest } = options;
  if (platform === 'freebsd') {
    return openFreeBSDCubenet({
      ...rest,
      rateLimits,
      ...(egressInterface ? { egressInterface } : {}),
      ...(maxSandboxes !== undefined ? { maxSandboxes } : {}),
    });
  }
  const runner = rest.runner ?? new ProcessRunner();
  const prefix = rest.config?.prefix ?? DEFAULT_NET_CONFIG.prefix;
  return openLinuxCubenet({
    ...rest,
    runner,
    ...(rateLimits ? { rateLimiter: new TcRateLimiter(runner, prefix) } : {}),
  });
}
