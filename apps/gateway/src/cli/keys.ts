/** `coppice-gateway keys create|list|revoke`: operators manage API keys; a key is printed once, at creation. */
import { createApiKey } from '../auth/api-keys.ts';
import { Store } from '../store/store.ts';

export function keysCommand(args: string[], database: string, json: boolean): number {
  const [verb, ...rest] = args;
  const store = Store.open(database);
  try {
    switch (verb) {
      case 'create': {
        const team = flag(rest, '--team');
        const name = flag(rest, '--name') ?? 'default';
        if (!team) throw new UsageError('keys create needs --team NAME');
        const { key, record } = createApiKey(store, team, name);
        if (json) console.log(JSON.stringify({ key, id: record.id, team, name }));
        else console.log(`${key}\n(id ${record.id}, team ${team}; shown once: store it now)`);
        return 0;
      }
      case 'list': {
        const keys = store.listApiKeys();
        if (json) console.log(JSON.stringify(keys));
        else
          for (const k of keys)
            console.log(
              `${k.id}  ${k.mask}  team=${k.teamName}  name=${k.name}  ${k.revokedAt ? `revoked ${new Date(k.revokedAt).toISOString()}` : 'active'}`,
            );
        return 0;
      }
      case 'revoke': {
        const id = rest[0];
        if (!id) throw new UsageError('keys revoke needs a key id (see keys list)');
        if (!store.revokeApiKey(id)) {
          console.error(`no active key with id ${id}`);
          return 1;
        }
        console.log(json ? JSON.stringify({ revoked: id }) : `revoked ${id}`);
        return 0;
      }
      default:
        throw new UsageError(`unknown keys command "${verb ?? ''}": create, list or revoke`);
    }
  } finally {
    store.close();
  }
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return v;
}
