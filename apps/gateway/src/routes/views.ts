/** The JSON shapes E2B's SDKs read back for a sandbox and a template. */
import type { TemplateSpec } from '../sandboxes/backend.ts';
import type { SandboxRecord } from '../store/types.ts';

export function createdView(s: SandboxRecord, domain: string) {
  return {
    sandboxID: s.id,
    templateID: s.templateId,
    clientID: s.clientId,
    envdVersion: s.envdVersion,
    envdAccessToken: s.envdToken,
    trafficAccessToken: s.network.allowPublicTraffic ? null : s.trafficToken,
    domain,
    alias: s.templateId,
  };
}

export function listedView(s: SandboxRecord) {
  return {
    sandboxID: s.id,
    templateID: s.templateId,
    alias: s.templateId,
    clientID: s.clientId,
    startedAt: new Date(s.startedAt).toISOString(),
    endAt: new Date(s.endAt).toISOString(),
    state: s.state === 'paused' ? 'paused' : 'running',
    cpuCount: s.cpuCount,
    memoryMB: s.memoryMB,
    diskSizeMB: s.diskMB,
    envdVersion: s.envdVersion,
    metadata: s.metadata,
  };
}

export function detailView(s: SandboxRecord, domain: string) {
  return {
    ...listedView(s),
    envdAccessToken: s.envdToken,
    allowInternetAccess: s.network.allowInternetAccess,
    domain,
    network: {
      allowOut: s.network.allowOut,
      denyOut: s.network.denyOut,
      allowPublicTraffic: s.network.allowPublicTraffic,
    },
  };
}

export function templateView(t: TemplateSpec, createdAt: string) {
  return {
    templateID: t.id,
    buildID: `${t.id}-build`,
    cpuCount: t.cpuCount,
    memoryMB: t.memoryMB,
    diskSizeMB: t.diskMB,
    public: true,
    aliases: t.aliases,
    createdAt,
    updatedAt: createdAt,
    createdBy: null,
    lastSpawnedAt: null,
    spawnCount: 0,
    buildCount: 1,
    buildStatus: 'ready',
    envdVersion: t.envdVersion,
  };
}
