/**
 * The FreeBSD cubenet: pf anchors + tap/epair/VNET-jail endpoints, forwarding through sysctl, rate limits through
 * dummynet pipes, all through one command runner.
 */
import { ProcessRunner, type CommandRunner } from '../host/command-runner.ts';
import { Cubenet, DEFAULT_LOCK_DIR, type CubenetOptions } from './cubenet.ts';
import { FreeBsdEndpoints } from './endpoint/freebsd/freebsd-endpoints.ts';
import { SysctlForwarding } from './endpoint/freebsd/forwarding.ts';
import { PfFirewall } from './firewall/pf/pf.ts';
import { Ipam, parseSubnets } from './ipam.ts';
import { DummynetPipes, DummynetRateLimiter } from './rate-limit/dummynet.ts';
import { DEFAULT_NET_CONFIG, type NetConfig } from './types.ts';
import { parsePrefix } from './validate.ts';

/** Pipes of a prefix start above this number (pipe = base + host number), clear of low numbers operators use. */
export const DEFAULT_PIPE_BASE = 10_000;

export interface FreeBsdCubenetOptions
  extends Partial<Omit<CubenetOptions, 'config' | 'firewall' | 'endpoints' | 'runner' | 'rateLimiter' | 'forwarding'>> {
  config?: Partial<NetConfig>;
  runner?: CommandRunner;
  /** Interface egress NAT leaves through (`nat on IF`); without it the root hook has no NAT. */
  egressInterface?: string;
  /** Sandboxes that may exist at once (preflight checks pf's anchor and table-entry limits); default: the allocatable range. */
  maxSandboxes?: number;
  /** Per-sandbox rate limits with dummynet (preflight then needs dummynet loaded). Default true. */
  rateLimits?: boolean;
  /** First dummynet pipe number minus one (default DEFAULT_PIPE_BASE). */
  pipeBase?: number;
}

export function openFreeBSDCubenet(options: FreeBsdCubenetOptions = {}): Promise<Cubenet> {
  const config: NetConfig = { ...DEFAULT_NET_CONFIG, ...options.config };
  const runner = options.runner ?? new ProcessRunner();
  const prefix = parsePrefix(config.prefix);
  const ipam = new Ipam(parseSubnets(config.ipv4Subnet, config.ipv6Subnet), config.allocatable);
  const pipes =
    options.rateLimits === false ? undefined : new DummynetPipes(options.pipeBase ?? DEFAULT_PIPE_BASE, ipam.last);
  const { egressInterface, maxSandboxes, rateLimits: _r, pipeBase: _p, ...rest } = options;
  return Cubenet.open({
    ...rest,
    config,
    runner,
    firewall: new PfFirewall(runner, prefix, {
      maxSandboxes: maxSandboxes ?? ipam.size,
      ...(egressInterface ? { egressInterface } : {}),
      ...(pipes ? { pipes } : {}),
    }),
    endpoints: new FreeBsdEndpoints(runner, prefix),
    ...(pipes ? { rateLimiter: new DummynetRateLimiter(runner, pipes) } : {}),
    ...((options.enableForwarding ?? true)
      ? { forwarding: new SysctlForwarding(runner, config.lockDir ?? DEFAULT_LOCK_DIR, prefix) }
      : {}),
  });
}
