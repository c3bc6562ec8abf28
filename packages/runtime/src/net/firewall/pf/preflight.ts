/**
 * What a FreeBSD host must have before cubenet's pf backend can run, each missing piece named with its fix:
 * pf enabled, `set limit anchors` and table-entries large enough for the configured number of sandboxes, and
 * bridged traffic passing through pf on the member interfaces (`net.link.bridge.pfil_member=1`, if_bridge(4)).
 */
import type { CommandRunner } from '../../../host/command-runner.ts';
import { parseInfo, parseLimits } from './parse.ts';
import { SANDBOX_TABLES } from './render.ts';
import { PRIVATE_RANGES_V4, PRIVATE_RANGES_V6 } from '../../types.ts';

/** Entries one sandbox's anchor holds before any policy entry: its private-ranges table (ranges + 2 subnets). */
export const BASE_ENTRIES_PER_SANDBOX = PRIVATE_RANGES_V4.length + PRIVATE_RANGES_V6.length + 2;

export async function pfPreflight(runner: CommandRunner, need: { maxSandboxes: number }): Promise<string[]> {
  const reasons: string[] = [];
  const info = await runner.run(['pfctl', '-s', 'info']);
  if (info.code === 127) return ['pfctl not found: pf(4) is not installed on this host'];
  if (info.code !== 0) {
    reasons.push(
      `cannot read pf status (pfctl -s info: ${info.stderr.trim() || `exit ${info.code}`}); is pf loaded? (kldload pf)`,
    );
  } else if (!parseInfo(info.stdout).enabled) {
    reasons.push('pf is not enabled: run `pfctl -e` (and set pf_enable="YES" in /etc/rc.conf)');
  }

  const limits = await runner.run(['pfctl', '-sm']);
  if (limits.code === 0) {
    const l = parseLimits(limits.stdout);
    // One anchor per sandbox plus their parent.
    const anchorsNeeded = need.maxSandboxes + 1;
    if (l.anchors !== undefined && l.anchors < anchorsNeeded) {
      reasons.push(
        `pf allows ${l.anchors} anchors but ${need.maxSandboxes} sandboxes need ${anchorsNeeded}: add \`set limit anchors ${nice(anchorsNeeded)}\` to /etc/pf.conf and reload it`,
      );
    }
    const entriesNeeded = need.maxSandboxes * BASE_ENTRIES_PER_SANDBOX;
    if (l['table-entries'] !== undefined && l['table-entries'] < entriesNeeded) {
      reasons.push(
        `pf allows ${l['table-entries']} table entries but ${need.maxSandboxes} sandboxes need at least ${entriesNeeded} (${SANDBOX_TABLES.length} tables each): add \`set limit table-entries ${nice(entriesNeeded * 2)}\` to /etc/pf.conf`,
      );
    }
  }

  const pfil = await runner.run(['sysctl', '-n', 'net.link.bridge.pfil_member']);
  if (pfil.code !== 0) {
    reasons.push('net.link.bridge.pfil_member is missing: if_bridge(4) is not loaded (kldload if_bridge)');
  } else if (pfil.stdout.trim() !== '1') {
    reasons.push(
      `net.link.bridge.pfil_member is ${pfil.stdout.trim()}: traffic between sandboxes on the bridge would bypass pf; set it to 1 (sysctl net.link.bridge.pfil_member=1, and in /etc/sysctl.conf)`,
    );
  }
  return reasons;
}

function nice(n: number): number {
  // Round up to a power of two, the way limits are usually written.
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
