import type { VmNetwork } from '../hypervisor/hypervisor.ts';
import type { Cubenet } from '../net/cubenet.ts';

/**
 * The seam between a pool entry and its network. Every entry owns one lease from fill to return: the VM's NIC
 * backs onto the lease's tap. Checkout applies the sandbox's policy; return releases the lease.
 */
export interface NetLease {
  id: string;
  vm: VmNetwork;
}

export interface EntryNetwork {
  readonly kind: string;
  /** A new endpoint for an entry, with a deny-everything policy until checkout. */
  acquire(): Promise<NetLease>;
  applyPolicy(id: string, policy: unknown): Promise<void>;
  release(id: string): Promise<void>;
  /** Leases the network holds (to release those no entry owns after a crash). */
  leases(): Promise<string[]>;
}

/** No network: the VM's NIC sits on an empty hub (tests, density and cold-start rigs that probe over serial). */
export class NoNetwork implements EntryNetwork {
  readonly kind = 'none';
  async acquire(): Promise<NetLease | never> {
    throw new Error('NoNetwork hands out no leases');
  }
  async applyPolicy(): Promise<void> {}
  async release(): Promise<void> {}
  async leases(): Promise<string[]> {
    return [];
  }
}

/** A cubenet tap endpoint per entry (cubenet): address, tap on the bridge, nftables policy. */
export class CubenetNetwork implements EntryNetwork {
  readonly kind = 'cubenet';
  constructor(private readonly net: Cubenet) {}

  async acquire(): Promise<NetLease> {
    const sb = await this.net.checkout({ kind: 'tap' });
    // A locally administered unicast MAC from the sandbox id (12 hex digits): unique per sandbox on the bridge.
    const mac = `52:54:${sb.id.slice(4).match(/../g)!.join(':')}`;
    return {
      id: sb.id,
      vm: {
        tap: sb.endpoint.hostInterface,
        mac,
        address: `${sb.addresses.ipv4}/${this.net.setup.ipv4PrefixLength}`,
        gateway: this.net.setup.gateway.ipv4,
      },
    };
  }

  async applyPolicy(id: string, policy: unknown): Promise<void> {
    await this.net.setPolicy(id, policy);
  }

  async release(id: string): Promise<void> {
    await this.net.release(id);
  }

  async leases(): Promise<string[]> {
    return this.net
      .list()
      .filter((s) => s.endpoint.kind === 'tap')
      .map((s) => s.id);
  }
}

export function usesNetwork(n: EntryNetwork): boolean {
  return n.kind !== 'none';
}
