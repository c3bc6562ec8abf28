/**
 * What the gateway needs from whatever runs sandboxes. The runtime-backed implementation (pools + cubenet) is in
 * `runtime-backend.ts`; the gateway's logic (records, timers, limits, routing) is written against this interface.
 */
import type { SandboxNetwork } from '../store/types.ts';

export interface TemplateSpec {
  id: string;
  aliases: string[];
  cpuCount: number;
  memoryMB: number;
  diskMB: number;
  envdVersion: string;
}

export interface SandboxSpec {
  id: string;
  templateId: string;
  envVars: Record<string, string>;
  envdToken: string;
  network: SandboxNetwork;
}

export interface RunningSandbox {
  /** The guest's address: its ports (envd 49983, the code interpreter 49999, the user's servers) answer there. */
  address: string;
}

export interface MetricSample {
  timestampUnix: number;
  cpuCount: number;
  cpuUsedPct: number;
  memUsed: number;
  memTotal: number;
  memCache: number;
  diskUsed: number;
  diskTotal: number;
}

export interface SandboxBackend {
  templates(): TemplateSpec[];
  /** Starts a sandbox; resolves once its agent answers, with identity, env and token applied. */
  create(spec: SandboxSpec): Promise<RunningSandbox>;
  /** Frees everything of a running sandbox (VM, network, writable layer). Idempotent: an unknown id is no error. */
  kill(id: string): Promise<void>;
  /** Checkpoints a running sandbox (memory and writable layer) to disk and frees its VM. */
  pause(id: string): Promise<{ location: string }>;
  /**
   * Restores a paused sandbox from its checkpoint, with its files, processes and kernel state; the checkpoint is
   * consumed (the backend deletes it once the sandbox runs).
   */
  resume(spec: SandboxSpec, location: string): Promise<RunningSandbox>;
  /** Deletes the checkpoint of a paused sandbox that is killed without being resumed. Idempotent. */
  discard(location: string): Promise<void>;
  /** One sample of the guest's CPU and memory. */
  sample(spec: SandboxSpec): Promise<MetricSample>;
  /** Ids of the sandboxes the backend holds running now (for reconcile after a gateway restart). */
  inventory(): Promise<{ running: string[]; snapshots: string[] }>;
  close(): Promise<void>;
}
