/**
 * Sandboxes that run code, for a control plane such as the E2B-compatible gateway: one pool per template, every
 * entry on its own cubenet endpoint, and the guest agent told each sandbox's identity before it is handed out. A
 * sandbox is a pool entry labelled with its sandbox id, so after a restart the host finds its sandboxes again from
 * the pools' own state (reconcile), not from a file of its own.
 */
import type { Hypervisor } from '../hypervisor/hypervisor.ts';
import type { Cubenet } from '../net/cubenet.ts';
import type { SandboxPolicy } from '../net/types.ts';
import type { PoolMode } from '../pool/config.ts';
import { defaultPoolConfig } from '../pool/config.ts';
import { CubenetNetwork } from '../pool/network.ts';
import { Pool } from '../pool/pool.ts';
import type { GuestImage, VmNetwork } from '../hypervisor/hypervisor.ts';
import {
  AGENT_PORT,
  agentMetrics,
  initAgent,
  warmIdleAgent,
  type AgentMetrics,
  type SandboxIdentity,
} from './agent-client.ts';

export interface SandboxTemplate {
  /** Template id as E2B names them (`base`, `code-interpreter-v1`); also the pool's name. */
  id: string;
  aliases: string[];
  image: GuestImage;
  /** Writable space a sandbox has on its root disk, MiB (reported to clients). */
  diskMiB: number;
  pool: { mode: PoolMode; hot: number; durable: number; refillConcurrency: number };
}

export interface SandboxHostOptions {
  templates: SandboxTemplate[];
  hypervisor: Hypervisor;
  /** Opened and initialised by the caller, who also closes it. */
  net: Cubenet;
  stateDir: string;
  runRoot: string;
  /** Template checkpoints shared with other hosts of the same images (see pool/template-cache.ts). */
  templateCache?: string;
  onBackgroundError?: (e: Error) => void;
}

export interface HostedSandbox {
  sandboxId: string;
  templateId: string;
  state: 'running' | 'paused';
  /** The guest's IPv4 address while running. */
  address?: string;
}

export class SandboxHostError extends Error {
  override name = 'SandboxHostError';
}

const ipv4 = (cidr: string | undefined) => cidr?.split('/')[0];

/** The pools' `warmHot` hook for guests that run the agent: one identity-free /init before an entry is parked. */
export async function warmAgentOf(network: VmNetwork | undefined): Promise<void> {
  const address = ipv4(network?.address);
  if (!address) throw new SandboxHostError('a sandbox pool entry has no network address to warm its agent on');
  await warmIdleAgent(address);
}

export class SandboxHost {
  private constructor(
    private readonly templatesById: Map<string, SandboxTemplate>,
    private readonly pools: Map<string, Pool>,
  ) {}

  static async open(o: SandboxHostOptions): Promise<SandboxHost> {
    const pools = new Map<string, Pool>();
    try {
      for (const t of o.templates) {
        const config = {
          ...defaultPoolConfig(t.id, t.image, t.pool.mode),
          size: { hot: t.pool.hot, durable: t.pool.durable },
          refillConcurrency: t.pool.refillConcurrency,
          stateDir: o.stateDir,
          runRoot: o.runRoot,
          readiness: { via: 'http' as const, port: AGENT_PORT, path: '/health' },
          ...(o.templateCache ? { templateCache: o.templateCache } : {}),
        };
        const pool = await Pool.open({
          config,
          hypervisor: o.hypervisor,
          network: new CubenetNetwork(o.net),
          warmHot: warmAgentOf,
          ...(o.onBackgroundError ? { onBackgroundError: o.onBackgroundError } : {}),
        });
        pools.set(t.id, pool);
      }
    } catch (e) {
      for (const p of pools.values()) await p.close();
      throw e;
    }
    return new SandboxHost(new Map(o.templates.map((t) => [t.id, t])), pools);
  }

  templates(): SandboxTemplate[] {
    return [...this.templatesById.values()];
  }

  /** Makes each template's checkpoint (a boot, the first time) and fills its pool; resolves when all are ready. */
  async warm(): Promise<void> {
    for (const pool of this.pools.values()) await pool.warm();
  }

  private pool(templateId: string): Pool {
    const pool = this.pools.get(templateId);
    if (!pool) throw new SandboxHostError(`no template "${templateId}" (known: ${[...this.pools.keys()].join(', ')})`);
    return pool;
  }

  private locate(
    sandboxId: string,
  ): { pool: Pool; entryId: string; templateId: string; state: 'running' | 'paused'; address?: string } | undefined {
    for (const [templateId, pool] of this.pools) {
      const e = pool.list().find((x) => x.label === sandboxId && x.status !== 'idle');
      if (e)
        return {
          pool,
          entryId: e.id,
          templateId,
          state: e.status === 'paused' ? 'paused' : 'running',
          ...(e.address ? { address: ipv4(e.address) } : {}),
        };
    }
    return undefined;
  }

  find(sandboxId: string): HostedSandbox | undefined {
    const l = this.locate(sandboxId);
    return l && { sandboxId, templateId: l.templateId, state: l.state, ...(l.address ? { address: l.address } : {}) };
  }

  /** Every sandbox the pools hold, running or paused. */
  list(): HostedSandbox[] {
    const out: HostedSandbox[] = [];
    for (const [templateId, pool] of this.pools) {
      for (const e of pool.list()) {
        if (e.status === 'idle' || !e.label) continue;
        out.push({
          sandboxId: e.label,
          templateId,
          state: e.status === 'paused' ? 'paused' : 'running',
          ...(e.address ? { address: ipv4(e.address)! } : {}),
        });
      }
    }
    return out;
  }

  /**
   * Checks a sandbox out of its template's pool with its policy, hands it its identity, and resolves with its
   * address once its agent has taken it. A failure at any step returns the entry: nothing is left half-made.
   */
  async create(templateId: string, identity: SandboxIdentity, policy: SandboxPolicy): Promise<{ address: string }> {
    if (this.locate(identity.sandboxId)) throw new SandboxHostError(`sandbox ${identity.sandboxId} exists already`);
    const pool = this.pool(templateId);
    const out = await pool.checkout({ policy, label: identity.sandboxId });
    try {
      const address = ipv4(out.network?.address);
      if (!address) throw new SandboxHostError(`template ${templateId}'s pool gives its sandboxes no network`);
      await initAgent(address, identity);
      return { address };
    } catch (e) {
      await pool.return(out.id).catch(() => undefined);
      throw e;
    }
  }

  /** Frees a sandbox, running or paused: VM, checkpoint, network endpoint and disk layer. Unknown ids are no error. */
  async kill(sandboxId: string): Promise<void> {
    const l = this.locate(sandboxId);
    if (l) await l.pool.return(l.entryId);
  }

  async pause(sandboxId: string): Promise<void> {
    const l = this.locate(sandboxId);
    if (!l || l.state !== 'running') throw new SandboxHostError(`sandbox ${sandboxId} is not running here`);
    await l.pool.suspend(l.entryId);
  }

  /** Wakes a paused sandbox on its own address, then resyncs its clock and reseeds it (its token stays). */
  async resume(sandboxId: string, identity: SandboxIdentity): Promise<{ address: string }> {
    const l = this.locate(sandboxId);
    if (!l || l.state !== 'paused') throw new SandboxHostError(`sandbox ${sandboxId} is not paused here`);
    const out = await l.pool.resume(l.entryId);
    const address = ipv4(out.network?.address);
    if (!address) throw new SandboxHostError(`sandbox ${sandboxId} has no network`);
    await initAgent(address, identity, identity.accessToken);
    return { address };
  }

  async metrics(sandboxId: string, accessToken: string): Promise<AgentMetrics> {
    const l = this.locate(sandboxId);
    if (!l?.address || l.state !== 'running') throw new SandboxHostError(`sandbox ${sandboxId} is not running here`);
    return agentMetrics(l.address, accessToken);
  }

  /** Removes everything: every sandbox, idle entry, template checkpoint and pool folder (tests, rigs, uninstall). */
  async destroyAll(): Promise<void> {
    for (const pool of this.pools.values()) await pool.destroyAll();
  }

  /** Waits for background refills and gives up the pools' locks; sandboxes keep running for the next host. */
  async close(): Promise<void> {
    for (const pool of this.pools.values()) await pool.close();
  }
}
