/**
 * Endpoint providers: the sandbox's link to the bridge. A tap for a VM (the VM's NIC backs onto it), or a VM-less
 * "isolated" endpoint (Linux: a network namespace with a veth pair; FreeBSD: a VNET jail with an epair) used by the
 * rigs and tests to stand in for a sandbox. Names carry the prefix and fit in 15 characters.
 */
import type { CommandOptions, CommandResult } from '../../host/command-runner.ts';
import type { EndpointKind, InterfaceName, SandboxAddresses } from '../types.ts';

export interface Endpoint {
  kind: EndpointKind;
  /** The host-side interface on the bridge (tap, veth host end, epair "a" end). */
  hostInterface: InterfaceName;
  /** Network namespace / jail name of an isolated endpoint. */
  isolation?: string;
}

export interface BridgeSetup {
  bridge: InterfaceName;
  gateway: SandboxAddresses;
  ipv4PrefixLength: number;
  ipv6PrefixLength: number;
}

export interface EndpointProvider {
  /** Reasons this host cannot create endpoints (empty when it can). */
  preflight(): Promise<string[]>;
  /** Creates the bridge with the gateway addresses (idempotent). */
  initBridge(setup: BridgeSetup): Promise<void>;
  destroyBridge(bridge: InterfaceName): Promise<void>;
  /** Creates an endpoint attached to the bridge, without addresses. `name` is the host interface (and jail/netns). */
  create(kind: EndpointKind, name: InterfaceName, bridge: InterfaceName): Promise<Endpoint>;
  /**
   * Gives an isolated endpoint its addresses and default routes via the gateway (replacing any previous ones).
   * For a tap this is a no-op: the guest configures itself.
   */
  address(endpoint: Endpoint, addresses: SandboxAddresses, setup: BridgeSetup): Promise<void>;
  /** Removes an endpoint's addresses so it can be recycled. */
  unaddress(endpoint: Endpoint): Promise<void>;
  /** Destroys the endpoint (idempotent: a missing one is fine). */
  destroy(endpoint: Endpoint): Promise<void>;
  /** Destroys many endpoints at once (teardown, reconcile); idempotent. Optional: callers fall back to destroy(). */
  destroyMany?(endpoints: Endpoint[]): Promise<void>;
  /** The argv that runs `argv` inside an isolated endpoint (`ip netns exec NS ...` / `jexec NAME ...`). */
  commandIn(endpoint: Endpoint, argv: readonly string[]): string[];
  /** Runs a command inside an isolated endpoint. */
  exec(endpoint: Endpoint, argv: readonly string[], options?: CommandOptions): Promise<CommandResult>;
  /** Endpoints the kernel holds whose names start with the prefix (for audit/reconcile). */
  list(prefix: string): Promise<Endpoint[]>;
}
