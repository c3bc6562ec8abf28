import type { CommandRunner } from '../../host/command-runner.ts';
import type { EndpointProvider } from '../endpoint/endpoint.ts';
import type { FirewallBackend } from '../firewall/firewall.ts';
import type { RateLimiter } from '../rate-limit/rate-limit.ts';
import type { EndpointKind, NetConfig } from '../types.ts';

/** Where controller locks live: one per prefix for the whole host, whatever state folder each controller uses. */
export const DEFAULT_LOCK_DIR = '/run/coppice/net';

/** Host-wide IP forwarding (FreeBSD: the forwarding sysctls), set at init and put back at teardown. */
export interface HostForwarding {
  /** Turns forwarding on where it is off, remembering what it found. Idempotent. */
  enable(): Promise<void>;
  /** Puts back what enable() found (a no-op if it changed nothing). */
  restore(): Promise<void>;
}

export interface CubenetOptions {
  config: NetConfig;
  runner: CommandRunner;
  firewall: FirewallBackend;
  endpoints: EndpointProvider;
  /** Idle endpoints kept warm per kind (refilled in the background). Default 0. */
  spares?: Partial<Record<EndpointKind, number>>;
  /** Most idle endpoints kept per kind after releases (beyond it they are destroyed). Default max(spares, 8). */
  maxIdle?: number;
  /** Reconcile on open (default true). */
  reconcile?: boolean;
  /**
   * Whether the platform's opener gives this controller a `forwarding` (IPv4/IPv6 forwarding turned on at init, for
   * forwards and egress, and put back at teardown). Default true.
   */
  enableForwarding?: boolean;
  /** Per-sandbox egress limits (setRateLimit); without one, setRateLimit refuses. */
  rateLimiter?: RateLimiter;
  /** Replaces the Linux /proc writes of `enableForwarding` (FreeBSD: sysctl), and is restored at teardown. */
  forwarding?: HostForwarding;
  /** Called with errors of background work (teardown, refills); they also stay in `backgroundErrors`. */
  onBackgroundError?: (error: Error) => void;
}
