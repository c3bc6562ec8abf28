/**
 * The gateway's sandboxes on this host's runtime: a SandboxHost (one pool per template on cubenet endpoints) opened
 * with the platform's hypervisor and firewall. A paused sandbox stays a pool entry of its own, so a pause's
 * "location" is the sandbox id.
 */
import type { SandboxPolicy } from '@coppice/runtime/net';
import { openSandboxHost, type OpenSandboxHostOptions, type SandboxHost } from '@coppice/runtime/sandbox';
import type { SandboxNetwork } from '../store/types.ts';
import type { MetricSample, RunningSandbox, SandboxBackend, SandboxSpec, TemplateSpec } from './backend.ts';

/** What an E2B create body's network fields mean for cubenet (see packages/runtime/docs/network.md). */
export function policyOf(network: SandboxNetwork): SandboxPolicy {
  return {
    allowOut: [...network.allowOut],
    denyOut: [...network.denyOut],
    dnsAllow: [],
    allowInternetAccess: network.allowInternetAccess,
  };
}

export class RuntimeBackend implements SandboxBackend {
  constructor(
    private readonly host: SandboxHost,
    private readonly envdVersion: string,
    private readonly closeHost: () => Promise<void>,
    private readonly destroyHost: () => Promise<void> = closeHost,
  ) {}

  templates(): TemplateSpec[] {
    return this.host.templates().map((t) => ({
      id: t.id,
      aliases: t.aliases,
      cpuCount: t.image.vcpus,
      memoryMB: t.image.memoryMiB,
      diskMB: t.diskMiB,
      envdVersion: this.envdVersion,
    }));
  }

  private identity(spec: SandboxSpec) {
    return { sandboxId: spec.id, envVars: spec.envVars, accessToken: spec.envdToken };
  }

  async create(spec: SandboxSpec): Promise<RunningSandbox> {
    return this.host.create(spec.templateId, this.identity(spec), policyOf(spec.network));
  }

  kill(id: string): Promise<void> {
    return this.host.kill(id);
  }

  async pause(id: string): Promise<{ location: string }> {
    await this.host.pause(id);
    return { location: id };
  }

  resume(spec: SandboxSpec, _location: string): Promise<RunningSandbox> {
    return this.host.resume(spec.id, this.identity(spec));
  }

  async discard(location: string): Promise<void> {
    if (this.host.find(location)?.state === 'paused') await this.host.kill(location);
  }

  async sample(spec: SandboxSpec): Promise<MetricSample> {
    const m = await this.host.metrics(spec.id, spec.envdToken);
    return { timestampUnix: Math.floor(Date.now() / 1000), ...m };
  }

  async inventory(): Promise<{ running: string[]; snapshots: string[] }> {
    const all = this.host.list();
    return {
      running: all.filter((s) => s.state === 'running').map((s) => s.sandboxId),
      snapshots: all.filter((s) => s.state === 'paused').map((s) => s.sandboxId),
    };
  }

  close(): Promise<void> {
    return this.closeHost();
  }

  /** Fills every template's pool (openRuntimeBackend does this unless told not to). */
  warm(): Promise<void> {
    return this.host.warm();
  }

  /** Removes every sandbox, pool and the cubenet, then closes (tests and rigs; an operator's close keeps them). */
  destroy(): Promise<void> {
    return this.destroyHost();
  }
}

/** The envd version the guest agent reports (packages/envd: every SDK version gate up to it is served). */
export const GUEST_ENVD_VERSION = '0.6.4';

/** Opens this host's sandbox runtime (pools, cubenet, templates) and fills the pools before serving. */
export async function openRuntimeBackend(
  options: OpenSandboxHostOptions & { warm?: boolean } = {},
): Promise<RuntimeBackend> {
  const opened = await openSandboxHost(options);
  if (options.warm ?? true) {
    try {
      await opened.host.warm();
    } catch (e) {
      await opened.close();
      throw e;
    }
  }
  return new RuntimeBackend(
    opened.host,
    GUEST_ENVD_VERSION,
    () => opened.close(),
    () => opened.destroy(),
  );
}
