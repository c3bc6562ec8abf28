import type { CommandRunner } from './command-runner.ts';
import { gatherFreeBsdFacts } from './freebsd-facts.ts';
import { gatherLinuxFacts } from './linux-facts.ts';
import { detectPlatform, type HostPlatform } from './platform.ts';
import { toolVersions } from './tool-versions.ts';

/** What a host is: the provenance every measurement carries (same shape as a result file's `host`, minus its id). */
export interface HostFacts {
  platform: HostPlatform;
  /** Distribution or OS release, e.g. "Debian GNU/Linux 12 (bookworm)", "FreeBSD 15.0-RELEASE". */
  os: string;
  kernel: string;
  cpu: { model: string; cores: number; threads: number };
  memoryBytes: number;
  /** The backends the runtime uses here: hypervisor qemu-tcg | qemu-kvm | bhyve, firewall nftables | pf. */
  backend: { hypervisor: string; firewall: string };
  /** Kernel and host facts as text: sysctls, pf limits, kernel options, virtualization, load. */
  facts: Record<string, string>;
  /** Versions of the tools measurements depend on, keyed by executable name. */
  tools: Record<string, string>;
}

/** The platform-specific part: everything but the tool versions. */
export type PlatformFacts = Omit<HostFacts, 'tools' | 'platform'>;

export interface GatherOptions {
  platform?: HostPlatform;
  /** Executables whose version to record (missing ones are recorded as "not installed"). */
  tools?: readonly string[];
}

/** Gathers host provenance through the runner (no direct file or process access, so tests can model a host). */
export async function gatherHostFacts(runner: CommandRunner, options: GatherOptions = {}): Promise<HostFacts> {
  const platform = options.platform ?? detectPlatform();
  const [base, tools] = await Promise.all([
    platform === 'linux' ? gatherLinuxFacts(runner) : gatherFreeBsdFacts(runner),
    toolVersions(runner, options.tools ?? []),
  ]);
  return { platform, ...base, tools: { node: process.version, ...tools } };
}
