/**
 * The gateway's state: teams, hashed API keys, templates, sandboxes, pause snapshots and events, in one embedded
 * SQLite database (WAL, synchronous=FULL: a sandbox the API reported is on disk before the answer leaves). This
 * module is the only code that speaks SQL; a server database would plug in here.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { MIGRATIONS } from './migrations.ts';
import type {
  ApiKeyRecord,
  GatewayEvent,
  SandboxFilter,
  SandboxNetwork,
  SandboxRecord,
  SandboxState,
  Team,
  TemplateRecord,
} from './types.ts';

const stringMap = z.record(z.string(), z.string());
const networkSchema = z.object({
  allowInternetAccess: z.boolean(),
  allowOut: z.array(z.string()),
  denyOut: z.array(z.string()),
  allowPublicTraffic: z.boolean(),
});

interface SandboxRow {
  id: string;
  team_id: string;
  template_id: string;
  client_id: string;
  state: SandboxState;
  metadata: string;
  env_vars: string;
  envd_token: string;
  traffic_token: string;
  network: string;
  auto_pause: number;
  started_at: number;
  end_at: number;
  address: string | null;
  cpu_count: number;
  memory_mb: number;
  disk_mb: number;
  envd_version: string;
}

export class StoreCorruptError extends Error {
  constructor(what: string, cause: unknown) {
    super(`gateway database: ${what} is not valid: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StoreCorruptError';
  }
}

function parseJson<T>(schema: z.ZodType<T>, text: string, what: string): T {
  try {
    return schema.parse(JSON.parse(text));
  } catch (e) {
    throw new StoreCorruptError(what, e);
  }
}

function toRecord(r: SandboxRow): SandboxRecord {
  return {
    id: r.id,
    teamId: r.team_id,
    templateId: r.template_id,
    clientId: r.client_id,
    state: r.state,
    metadata: parseJson(stringMap, r.metadata, `sandboxes.metadata of ${r.id}`),
    envVars: parseJson(stringMap, r.env_vars, `sandboxes.env_vars of ${r.id}`),
    envdToken: r.envd_token,
    trafficToken: r.traffic_token,
    network: parseJson<SandboxNetwork>(networkSchema, r.network, `sandboxes.network of ${r.id}`),
    autoPause: r.auto_pause === 1,
    startedAt: r.started_at,
    endAt: r.end_at,
    address: r.address,
    cpuCount: r.cpu_count,
    memoryMB: r.memory_mb,
    diskMB: r.disk_mb,
    envdVersion: r.envd_version,
  };
}

export class Store {
  private readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  /** Opens (or creates) the database at `path` (":memory:" for a throwaway one) and applies pending migrations. */
  static open(path: string): Store {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    const store = new Store(db);
    store.migrate();
    return store;
  }

  private migrate(): void {
    const applied = this.db.pragma('user_version', { simple: true }) as number;
    if (applied > MIGRATIONS.length) {
      throw new Error(
        `gateway database is at schema version ${applied}, newer than this gateway (${MIGRATIONS.length})`,
      );
    }
    for (let v = applied; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  close(): void {
    this.db.close();
  }

  // Teams and keys

  createTeam(name: string): Team {
    const team: Team = { id: randomUUID(), name, createdAt: Date.now() };
    this.db
      .prepare('INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)')
      .run(team.id, team.name, team.createdAt);
    return team;
  }

  teamByName(name: string): Team | undefined {
    const row = this.db.prepare('SELECT id, name, created_at FROM teams WHERE name = ?').get(name) as
      | { id: string; name: string; created_at: number }
      | undefined;
    return row && { id: row.id, name: row.name, createdAt: row.created_at };
  }

  insertApiKey(teamId: string, name: string, hash: string, mask: string): ApiKeyRecord {
    const rec: ApiKeyRecord = { id: randomUUID(), teamId, name, mask, createdAt: Date.now(), revokedAt: null };
    this.db
      .prepare('INSERT INTO api_keys (id, team_id, name, hash, mask, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(rec.id, teamId, name, hash, mask, rec.createdAt);
    return rec;
  }

  listApiKeys(): Array<ApiKeyRecord & { teamName: string }> {
    const rows = this.db
      .prepare(
        `SELECT k.id, k.team_id, k.name, k.mask, k.created_at, k.revoked_at, t.name AS team_name
         FROM api_keys k JOIN teams t ON t.id = k.team_id ORDER BY k.created_at`,
      )
      .all() as Array<{
      id: string;
      team_id: string;
      name: string;
      mask: string;
      created_at: number;
      revoked_at: number | null;
      team_name: string;
    }>;
    return rows.map((r) => ({
      id: r.id,
      teamId: r.team_id,
      name: r.name,
      mask: r.mask,
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
      teamName: r.team_name,
    }));
  }

  /** Revokes a key by id; false when no live key has that id. */
  revokeApiKey(id: string): boolean {
    return (
      this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(Date.now(), id)
        .changes === 1
    );
  }

  teamForKeyHash(hash: string): Team | undefined {
    const row = this.db
      .prepare(
        `SELECT t.id, t.name, t.created_at FROM api_keys k JOIN teams t ON t.id = k.team_id
         WHERE k.hash = ? AND k.revoked_at IS NULL`,
      )
      .get(hash) as { id: string; name: string; created_at: number } | undefined;
    return row && { id: row.id, name: row.name, createdAt: row.created_at };
  }

  // Templates

  upsertTemplate(t: TemplateRecord): void {
    this.db
      .prepare(
        `INSERT INTO templates (id, aliases, cpu_count, memory_mb, disk_mb, envd_version, created_at)
         VALUES (@id, @aliases, @cpuCount, @memoryMB, @diskMB, @envdVersion, @createdAt)
         ON CONFLICT(id) DO UPDATE SET aliases = excluded.aliases, cpu_count = excluded.cpu_count,
           memory_mb = excluded.memory_mb, disk_mb = excluded.disk_mb, envd_version = excluded.envd_version`,
      )
      .run({ ...t, aliases: JSON.stringify(t.aliases) });
  }

  listTemplates(): TemplateRecord[] {
    const rows = this.db.prepare('SELECT * FROM templates ORDER BY id').all() as Array<{
      id: string;
      aliases: string;
      cpu_count: number;
      memory_mb: number;
      disk_mb: number;
      envd_version: string;
      created_at: number;
    }>;
    return rows.map((r) => ({
      id: r.id,
      aliases: parseJson(z.array(z.string()), r.aliases, `templates.aliases of ${r.id}`),
      cpuCount: r.cpu_count,
      memoryMB: r.memory_mb,
      diskMB: r.disk_mb,
      envdVersion: r.envd_version,
      createdAt: r.created_at,
    }));
  }

  // Sandboxes

  insertSandbox(s: SandboxRecord): void {
    this.db
      .prepare(
        `INSERT INTO sandboxes (id, team_id, template_id, client_id, state, metadata, env_vars, envd_token, traffic_token,
           network, auto_pause, started_at, end_at, address, cpu_count, memory_mb, disk_mb, envd_version)
         VALUES (@id, @teamId, @templateId, @clientId, @state, @metadata, @envVars, @envdToken, @trafficToken,
           @network, @autoPause, @startedAt, @endAt, @address, @cpuCount, @memoryMB, @diskMB, @envdVersion)`,
      )
      .run({
        ...s,
        metadata: JSON.stringify(s.metadata),
        envVars: JSON.stringify(s.envVars),
        network: JSON.stringify(s.network),
        autoPause: s.autoPause ? 1 : 0,
      });
  }

  getSandbox(id: string): SandboxRecord | undefined {
    const row = this.db.prepare('SELECT * FROM sandboxes WHERE id = ?').get(id) as SandboxRow | undefined;
    return row && toRecord(row);
  }

  /** Moves a sandbox from one of `from` to `to`; false when it was in no state of `from` (a racing request won). */
  transition(
    id: string,
    from: readonly SandboxState[],
    to: SandboxState,
    patch: { address?: string | null; endAt?: number } = {},
  ): boolean {
    const placeholders = from.map(() => '?').join(', ');
    const sets = ['state = ?'];
    const values: unknown[] = [to];
    if (patch.address !== undefined) {
      sets.push('address = ?');
      values.push(patch.address);
    }
    if (patch.endAt !== undefined) {
      sets.push('end_at = ?');
      values.push(patch.endAt);
    }
    const sql = `UPDATE sandboxes SET ${sets.join(', ')} WHERE id = ? AND state IN (${placeholders})`;
    return this.db.prepare(sql).run(...values, id, ...from).changes === 1;
  }

  setEndAt(id: string, endAt: number): void {
    this.db.prepare('UPDATE sandboxes SET end_at = ? WHERE id = ?').run(endAt, id);
  }

  deleteSandbox(id: string): void {
    this.db.prepare('DELETE FROM sandboxes WHERE id = ?').run(id);
  }

  listSandboxes(f: SandboxFilter): SandboxRecord[] {
    const where = ['team_id = ?'];
    const values: unknown[] = [f.teamId];
    if (f.states?.length) {
      where.push(`state IN (${f.states.map(() => '?').join(', ')})`);
      values.push(...f.states);
    }
    if (f.templateId) {
      where.push('template_id = ?');
      values.push(f.templateId);
    }
    for (const [k, v] of Object.entries(f.metadata ?? {})) {
      where.push('json_extract(metadata, ?) = ?');
      values.push(`$."${k.replaceAll('"', '""')}"`, v);
    }
    if (f.after) {
      where.push('(started_at, id) > (?, ?)');
      values.push(f.after.startedAt, f.after.id);
    }
    const sql = `SELECT * FROM sandboxes WHERE ${where.join(' AND ')} ORDER BY started_at, id LIMIT ?`;
    const rows = this.db.prepare(sql).all(...values, f.limit) as SandboxRow[];
    return rows.map(toRecord);
  }

  /** Every sandbox, for reconcile on start. */
  allSandboxes(): SandboxRecord[] {
    return (this.db.prepare('SELECT * FROM sandboxes ORDER BY started_at, id').all() as SandboxRow[]).map(toRecord);
  }

  countSandboxes(teamId?: string): number {
    const row = (
      teamId
        ? this.db.prepare("SELECT count(*) AS n FROM sandboxes WHERE team_id = ? AND state != 'paused'").get(teamId)
        : this.db.prepare("SELECT count(*) AS n FROM sandboxes WHERE state != 'paused'").get()
    ) as { n: number };
    return row.n;
  }

  // Snapshots

  putSnapshot(sandboxId: string, location: string): void {
    this.db
      .prepare(
        `INSERT INTO snapshots (sandbox_id, location, created_at) VALUES (?, ?, ?)
         ON CONFLICT(sandbox_id) DO UPDATE SET location = excluded.location, created_at = excluded.created_at`,
      )
      .run(sandboxId, location, Date.now());
  }

  getSnapshot(sandboxId: string): string | undefined {
    const row = this.db.prepare('SELECT location FROM snapshots WHERE sandbox_id = ?').get(sandboxId) as
      | { location: string }
      | undefined;
    return row?.location;
  }

  deleteSnapshot(sandboxId: string): void {
    this.db.prepare('DELETE FROM snapshots WHERE sandbox_id = ?').run(sandboxId);
  }

  // Events

  addEvent(e: Omit<GatewayEvent, 'at'>): void {
    this.db
      .prepare('INSERT INTO events (at, team_id, sandbox_id, type, detail) VALUES (?, ?, ?, ?, ?)')
      .run(Date.now(), e.teamId, e.sandboxId, e.type, JSON.stringify(e.detail));
  }

  events(sandboxId: string): GatewayEvent[] {
    const rows = this.db.prepare('SELECT * FROM events WHERE sandbox_id = ? ORDER BY id').all(sandboxId) as Array<{
      at: number;
      team_id: string | null;
      sandbox_id: string | null;
      type: string;
      detail: string;
    }>;
    return rows.map((r) => ({
      at: r.at,
      teamId: r.team_id,
      sandboxId: r.sandbox_id,
      type: r.type,
      detail: parseJson(z.record(z.string(), z.unknown()), r.detail, 'events.detail'),
    }));
  }
}
