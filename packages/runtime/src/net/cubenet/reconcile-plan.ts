/**
 * Reconcile as pure decisions: from the controller's records and what the kernel holds, what to drop, remove,
 * re-apply and kill so that the kernel matches the state files. The controller gathers the kernel side, carries
 * out the plan in order (see Cubenet.reconcile) and reports it.
 */
import type { Endpoint } from '../endpoint/endpoint.ts';
import type { ConnectionState, FirewallBackend, FirewallInventory, SandboxRules } from '../firewall/firewall.ts';
import type { SandboxRecord } from '../state.ts';
import type { SandboxId } from '../types.ts';
import { activeAddresses, strayBindings } from './audit.ts';
import { rulesOf } from './sandbox.ts';

/** Sandboxes whose endpoint the kernel no longer has: they cannot be brought back and are dropped. */
export function sandboxesWithoutEndpoint(
  sandboxes: readonly SandboxRecord[],
  kernelEndpoints: readonly string[],
): SandboxRecord[] {
  const names = new Set(kernelEndpoints);
  return sandboxes.filter((r) => !names.has(r.endpoint.hostInterface));
}

/** Kernel endpoints carrying the prefix that no active sandbox owns (leftovers of a crash, idle endpoints included). */
export function unownedEndpoints(
  sandboxes: readonly SandboxRecord[],
  kernelEndpoints: readonly Endpoint[],
): Endpoint[] {
  const owned = new Set(sandboxes.map((r) => r.endpoint.hostInterface as string));
  return kernelEndpoints.filter((e) => !owned.has(e.hostInterface));
}

type KnownRules = Parameters<FirewallBackend['removeSandbox']>[1];

export interface FirewallRepair {
  /** Kernel sandboxes no record owns, with what the kernel says of them (for a complete removal). */
  remove: Array<{ id: SandboxId; known: KnownRules }>;
  /**
   * Records whose rules are missing (apply them) or differ from the record (`clearFirst`: take away what the kernel
   * holds, then apply), e.g. a controller killed between a policy transaction and its state write.
   */
  reapply: Array<{ record: SandboxRecord; clearFirst?: KnownRules }>;
  /** Forwards, bindings and shared-set entries that point at no sandbox. */
  stray: { forwards: FirewallInventory['orphanForwards']; bindings: FirewallInventory['bindings']; entries: string[] };
}

/** What to change in the firewall; nothing when its root hook is gone (init makes everything again). */
export function firewallRepair(
  sandboxes: readonly SandboxRecord[],
  inv: FirewallInventory,
  setNames: (id: SandboxId, rules: SandboxRules) => string[],
): FirewallRepair {
  const plan: FirewallRepair = { remove: [], reapply: [], stray: { forwards: [], bindings: [], entries: [] } };
  if (!inv.rootHook) return plan;
  const ids = new Set(sandboxes.map((r) => r.id as string));
  for (const k of inv.sandboxes) {
    if (ids.has(k.id)) continue;
    const v4 = k.addresses.find((a) => !a.includes(':'));
    const v6 = k.addresses.find((a) => a.includes(':'));
    plan.remove.push({
      id: k.id,
      known: v4 && v6 ? { addresses: { ipv4: v4, ipv6: v6 }, forwards: k.forwards } : undefined,
    });
  }
  for (const r of sandboxes) {
    const k = inv.sandboxes.find((x) => x.id === r.id);
    if (!k) {
      plan.reapply.push({ record: r });
      continue;
    }
    const wanted = setNames(r.id, rulesOf(r));
    if (wanted.length === k.sets.length && wanted.every((x) => k.sets.includes(x))) continue;
    plan.reapply.push({
      record: r,
      clearFirst: { addresses: r.addresses, forwards: k.forwards, hostInterface: r.endpoint.hostInterface },
    });
  }
  // Forwards of removed chains go with their chain; what remains points at no sandbox.
  plan.stray = {
    forwards: inv.orphanForwards,
    bindings: strayBindings(sandboxes, inv),
    entries: inv.strayEntries ?? [],
  };
  return plan;
}

/** Address slots (not the gateway's) with connection states although no active sandbox has that address. */
export function orphanStateHosts(
  sandboxes: readonly SandboxRecord[],
  states: readonly ConnectionState[],
  hostOf: (address: string) => number | undefined,
): number[] {
  const active = activeAddresses(sandboxes);
  const hosts = new Set<number>();
  for (const s of states) {
    for (const a of [s.source, s.destination, s.replySource]) {
      const host = hostOf(a);
      if (host !== undefined && host !== 1 && !active.has(a)) hosts.add(host);
    }
  }
  return [...hosts];
}
