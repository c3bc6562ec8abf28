import { API_KEY, hashApiKey, newApiKey } from '../ids.ts';
import type { Store } from '../store/store.ts';
import type { ApiKeyRecord, Team } from '../store/types.ts';

/** Creates a key for `teamName` (creating the team on first use). The key itself is shown once and never stored. */
export function createApiKey(store: Store, teamName: string, name: string): { key: string; record: ApiKeyRecord } {
  if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(teamName)) {
    throw new Error(`invalid team name "${teamName}": 1-63 of [a-z0-9._-], starting with a letter or digit`);
  }
  const team = store.teamByName(teamName) ?? store.createTeam(teamName);
  const key = newApiKey();
  const mask = `${key.slice(0, 8)}…${key.slice(-4)}`;
  return { key, record: store.insertApiKey(team.id, name, hashApiKey(key), mask) };
}

/** The team a presented key belongs to, or undefined for a malformed, unknown or revoked key. */
export function teamForKey(store: Store, key: string | undefined): Team | undefined {
  if (!key || !API_KEY.test(key)) return undefined;
  return store.teamForKeyHash(hashApiKey(key));
}
