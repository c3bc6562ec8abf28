/**
 * Schema migrations, applied in order; SQLite's `user_version` records how many have run. A migration is never
 * edited once released: a change is a new entry.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE teams (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     team_id TEXT NOT NULL REFERENCES teams(id),
     name TEXT NOT NULL,
     hash TEXT NOT NULL UNIQUE,
     mask TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     revoked_at INTEGER
   );
   CREATE TABLE templates (
     id TEXT PRIMARY KEY,
     aliases TEXT NOT NULL,
     cpu_count INTEGER NOT NULL,
     memory_mb INTEGER NOT NULL,
     disk_mb INTEGER NOT NULL,
     envd_version TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE sandboxes (
     id TEXT PRIMARY KEY,
     team_id TEXT NOT NULL REFERENCES teams(id),
     template_id TEXT NOT NULL,
     client_id TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('creating', 'running', 'pausing', 'paused', 'resuming', 'killing')),
     metadata TEXT NOT NULL,
     env_vars TEXT NOT NULL,
     envd_token TEXT NOT NULL,
     traffic_token TEXT NOT NULL,
     network TEXT NOT NULL,
     auto_pause INTEGER NOT NULL,
     started_at INTEGER NOT NULL,
     end_at INTEGER NOT NULL,
     address TEXT,
     cpu_count INTEGER NOT NULL,
     memory_mb INTEGER NOT NULL,
     disk_mb INTEGER NOT NULL,
     envd_version TEXT NOT NULL
   );
   CREATE INDEX sandboxes_team ON sandboxes(team_id, started_at);
   CREATE TABLE snapshots (
     sandbox_id TEXT PRIMARY KEY REFERENCES sandboxes(id) ON DELETE CASCADE,
     location TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     team_id TEXT,
     sandbox_id TEXT,
     type TEXT NOT NULL,
     detail TEXT NOT NULL
   );
   CREATE INDEX events_sandbox ON events(sandbox_id, at);`,
];
