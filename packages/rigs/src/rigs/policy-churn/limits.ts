/**
 * The kernel limits that bound how many sandboxes' policies one host can hold, checked before the rig builds N of
 * them. pf (FreeBSD): every sandbox is an anchor, and `set limit anchors` (default 512) caps them; table entries are
 * capped too. nftables (Linux): chains, sets and map elements have no count limit (cubenet's maps and sets declare
 * no `size`, so they grow with kernel memory); what caps N on Linux is the bridge: a Linux bridge has at most 1023
 * ports (BR_MAX_PORTS = 1024, port 0 unused), and every sandbox endpoint is one port.
 */
import { pfPreflight } from '@coppice/runtime/net';
import type { CommandRunner } from '@coppice/runtime';
import type { Platform } from '@coppice/results-schema';

export const LINUX_BRIDGE_MAX_PORTS = 1023;

export async function sandboxLimitReasons(
  platform: Platform,
  runner: CommandRunner,
  n: number,
  subnetHosts: number,
): Promise<string[]> {
  const reasons: string[] = [];
  if (subnetHosts < n) reasons.push(`the rig's subnet holds ${subnetHosts} sandboxes, fewer than ${n}`);
  if (platform === 'freebsd') return [...reasons, ...(await pfPreflight(runner, { maxSandboxes: n }))];
  if (n > LINUX_BRIDGE_MAX_PORTS)
    reasons.push(`a Linux bridge holds at most ${LINUX_BRIDGE_MAX_PORTS} ports, and ${n} sandboxes need ${n}`);
  return reasons;
}

/** What the run records as host facts about the limits it relied on. */
export function limitFacts(platform: Platform): Record<string, string> {
  return platform === 'freebsd'
    ? { 'pf-limit': 'set limit anchors >= N + 1 (checked in preflight with pfctl -sm)' }
    : {
        'nftables-object-limit':
          'none: chains, sets and verdict-map elements bounded only by kernel memory (no size declared)',
        'bridge-max-ports': String(LINUX_BRIDGE_MAX_PORTS),
      };
}
