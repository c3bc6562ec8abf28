export type SandboxState = 'creating' | 'running' | 'pausing' | 'paused' | 'resuming' | 'killing';

export interface Team {
  id: string;
  name: string;
  createdAt: number;
}

export interface ApiKeyRecord {
  id: string;
  teamId: string;
  name: string;
  /** `e2b_` plus the first and last four hex digits: enough to tell keys apart in a listing. */
  mask: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface TemplateRecord {
  id: string;
  aliases: string[];
  cpuCount: number;
  memoryMB: number;
  diskMB: number;
  envdVersion: string;
  createdAt: number;
}

/** What a sandbox's network may reach, as E2B's create body says it. */
export interface SandboxNetwork {
  allowInternetAccess: boolean;
  allowOut: string[];
  denyOut: string[];
  allowPublicTraffic: boolean;
}

export interface SandboxRecord {
  id: string;
  teamId: string;
  templateId: string;
  clientId: string;
  state: SandboxState;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  envdToken: string;
  trafficToken: string;
  network: SandboxNetwork;
  autoPause: boolean;
  startedAt: number;
  endAt: number;
  /** The guest's address on cubenet, once it has one. */
  address: string | null;
  cpuCount: number;
  memoryMB: number;
  diskMB: number;
  envdVersion: string;
}

export interface SandboxFilter {
  teamId: string;
  states?: SandboxState[];
  metadata?: Record<string, string>;
  templateId?: string;
  /** Pagination: sandboxes strictly after this (startedAt, id) cursor, in (startedAt, id) order. */
  after?: { startedAt: number; id: string };
  limit: number;
}

export interface GatewayEvent {
  at: number;
  teamId: string | null;
  sandboxId: string | null;
  type: string;
  detail: Record<string, unknown>;
}
