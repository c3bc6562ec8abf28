/**
 * Where the two ends of a request/response measurement run. On a small VM the round trip between two stacks on a
 * bridge depends on it more than on anything under test (2 vCPUs: ~20 µs with both ends on one CPU, ~30 µs across
 * two, anything between when the scheduler decides), so every RR measurement pins its client and server, and the
 * floor and the sandbox path are pinned the same way.
 */
import type { Platform } from '@coppice/results-schema';

export interface RrPlacement {
  client: number;
  server: number;
}

/**
 * Client on CPU 0 and server on CPU 1, as two VMs on their own vCPUs would be; both on CPU 0 when the host has
 * only one.
 */
export function crossCpuPlacement(cpus: number): RrPlacement {
  if (!Number.isInteger(cpus) || cpus < 1) throw new Error(`CPU count must be a positive integer, got ${cpus}`);
  return cpus >= 2 ? { client: 0, server: 1 } : { client: 0, server: 0 };
}

export const SAME_CPU: RrPlacement = { client: 0, server: 0 };

export function isCrossCpu(p: RrPlacement): boolean {
  return p.client !== p.server;
}

/** "client on CPU 0, server on CPU 1", for run.params. */
export function describePlacement(p: RrPlacement): string {
  return `client on CPU ${p.client}, server on CPU ${p.server}`;
}

/**
 * argv that runs `argv` bound to one CPU: `taskset -c N` (util-linux) on Linux, `cpuset -l N` (cpuset(1)) on
 * FreeBSD. Placed after the `ip netns exec NS` / `jexec JAIL` prefix, so the pinned process is the tool itself.
 * Without a CPU, `argv` unchanged (the scheduler places it).
 */
export function pinnedArgv(platform: Platform, cpu: number | undefined, argv: readonly string[]): string[] {
  if (cpu === undefined) return [...argv];
  if (!Number.isInteger(cpu) || cpu < 0) throw new Error(`CPU number must be a non-negative integer, got ${cpu}`);
  if (argv.length === 0) throw new Error('nothing to pin: empty argv');
  return platform === 'freebsd' ? ['cpuset', '-l', String(cpu), ...argv] : ['taskset', '-c', String(cpu), ...argv];
}
