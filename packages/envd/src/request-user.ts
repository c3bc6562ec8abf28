import { Code, ConnectError } from '@connectrpc/connect';
import type { Account, AccountDb } from './accounts.ts';

/**
 * The user a Connect request acts as: the SDK sends `Authorization: Basic base64("<user>:")` when the caller
 * names one, and nothing when the agent's default applies.
 */
export function userNameFromAuthorization(header: string | null, defaultUser: string): string {
  if (header === null || header === '') return defaultUser;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/.exec(header.trim());
  if (!match?.[1]) throw new ConnectError('Authorization header is not Basic credentials', Code.Unauthenticated);
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const name = colon < 0 ? decoded : decoded.slice(0, colon);
  return name === '' ? defaultUser : name;
}

export function requireAccount(accounts: AccountDb, name: string): Account {
  const account = accounts.user(name);
  if (!account)
    throw new ConnectError(`user ${JSON.stringify(name)} does not exist in the sandbox`, Code.Unauthenticated);
  return account;
}
