/**
 * Audit as a pure diff: what the controller believes (its sandbox records and idle endpoints) against what the
 * kernel holds (endpoints, firewall inventory, connection states, rate-limit objects). Changes nothing, needs no
 * kernel: the controller gathers both sides and reports the difference.
 */
import type { ConnectionState, FirewallInventory, SandboxRules } from '../firewall/firewall.ts';
import type { KernelRateLimit } from '../rate-limit/rate-limit.ts';
import type { SandboxRecord } from '../state.ts';
import type { SandboxId } from '../types.ts';
import type { AuditReport } from './reports.ts';
import { rulesOf } from './sandbox.ts';

export interface Belief {
  sandboxes: readonly SandboxRecord[];
  /** Host interfaces of the idle endpoints. */
  idleEndpoints: readonly string[];
}

export interface KernelView {
  endpoints: readonly string[];
  firewall: FirewallInventory;
  states: readonly ConnectionState[];
}

export interface DiffHelpers {
  /** The firewall backend's names for a sandbox's policy objects (FirewallBackend.setNames). */
  setNames(id: SandboxId, rules: SandboxRules): string[];
  /** The address slot of an address in the controller's subnets (Ipam.hostOf): 1 is the gateway. */
  hostOf(address: string): number | undefined;
}

type Leaks = AuditReport['leaks'];
type Missing = AuditReport['missing'];

/** Every leak (kernel holds, nobody believes) and every missing object (believed, kernel lacks), rate limits aside. */
export function auditDiff(
  belief: Belief,
  kernel: KernelView,
  helpers: DiffHelpers,
): { leaks: Leaks; missing: Missing } {
  const byId = new Map(belief.sandboxes.map((r) => [r.id as string, r]));
  const believedEndpoints = new Set<string>([
    ...belief.sandboxes.map((r) => r.endpoint.hostInterface),
    ...belief.idleEndpoints,
  ]);
  const kernelNames = new Set(kernel.endpoints);
  const kernelChains = new Map(kernel.firewall.sandboxes.map((s) => [s.id as string, s]));
  const leaks: Leaks = { endpoints: [], chains: [], sets: [], forwards: [], bindings: [], states: [] };
  const missing: Missing = { endpoints: [], chains: [], sets: [], forwards: [] };
  for (const name of kernelNames) if (!believedEndpoints.has(name)) leaks.endpoints.push(name);
  for (const name of believedEndpoints) if (!kernelNames.has(name)) missing.endpoints.push(name);
  for (const [id, k] of kernelChains) {
    const r = byId.get(id);
    if (!r) {
      leaks.chains.push(`sbx-${id}`);
      leaks.sets.push(...k.sets);
      leaks.forwards.push(...k.forwards.map((f) => `${f.protocol}/${f.hostPort}->${id}`));
      continue;
    }
    const wanted = new Set(helpers.setNames(id as SandboxId, rulesOf(r)));
    for (const s of k.sets) if (!wanted.has(s)) leaks.sets.push(s);
    for (const s of wanted) if (!k.sets.includes(s)) missing.sets.push(s);
    for (const f of r.forwards)
      if (!k.forwards.some((g) => g.protocol === f.protocol && g.hostPort === f.hostPort))
        missing.forwards.push(`${f.protocol}/${f.hostPort}->${id}`);
    for (const f of k.forwards)
      if (!r.forwards.some((g) => g.protocol === f.protocol && g.hostPort === f.hostPort))
        leaks.forwards.push(`${f.protocol}/${f.hostPort}->${id}`);
  }
  for (const id of byId.keys()) if (!kernelChains.has(id)) missing.chains.push(`sbx-${id}`);
  leaks.forwards.push(...kernel.firewall.orphanForwards.map((f) => `${f.protocol}/${f.hostPort}->${f.target}`));
  leaks.sets.push(...(kernel.firewall.strayEntries ?? []));
  leaks.bindings.push(
    ...strayBindings(belief.sandboxes, kernel.firewall).map((b) => `${b.hostInterface} ${b.address}`),
  );
  const active = activeAddresses(belief.sandboxes);
  for (const s of kernel.states) {
    // A state is a sandbox's when one of its ends is a sandbox address (not the gateway, not multicast).
    const ends = [s.source, s.destination, s.replySource].filter((a) => (helpers.hostOf(a) ?? 1) > 1);
    if (ends.length && !ends.some((a) => active.has(a)))
      leaks.states.push(`${s.protocol} ${s.source} -> ${s.destination}`);
  }
  return { leaks, missing };
}

/**
 * Rate-limit objects against the limited sandboxes: `stray` objects are owned by no limited sandbox, `absent`
 * sandboxes lack their object or have it at another rate.
 */
export function rateLimitDiff(
  sandboxes: readonly SandboxRecord[],
  kernel: readonly KernelRateLimit[],
): { stray: KernelRateLimit[]; absent: SandboxRecord[] } {
  const limited = sandboxes.filter((r) => r.rateLimit);
  const bySlot = new Map(limited.map((r) => [r.host, r]));
  const byInterface = new Map(limited.map((r) => [r.endpoint.hostInterface as string, r]));
  const stray = kernel.filter(
    (k) =>
      (k.slot !== undefined && !bySlot.has(k.slot)) ||
      (k.hostInterface !== undefined && !byInterface.has(k.hostInterface)),
  );
  const absent = limited.filter(
    (r) =>
      !kernel.some(
        (k) => k.slot === r.host && (k.egressMbit === undefined || k.egressMbit === r.rateLimit!.egressMbit),
      ),
  );
  return { stray, absent };
}

/** Anti-spoofing bindings in the kernel that bind no active sandbox's interface to its own address. */
export function strayBindings(
  sandboxes: readonly SandboxRecord[],
  inv: FirewallInventory,
): FirewallInventory['bindings'] {
  const owned = new Set<string>();
  for (const r of sandboxes) {
    owned.add(`${r.endpoint.hostInterface} ${r.addresses.ipv4}`);
    owned.add(`${r.endpoint.hostInterface} ${r.addresses.ipv6}`);
  }
  return inv.bindings.filter((b) => !owned.has(`${b.hostInterface} ${b.address}`));
}

/** Both addresses of every active sandbox. */
export function activeAddresses(sandboxes: readonly SandboxRecord[]): Set<string> {
  const out = new Set<string>();
  for (const r of sandboxes) {
    out.add(r.addresses.ipv4);
    out.add(r.addresses.ipv6);
  }
  return out;
}
