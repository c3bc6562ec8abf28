import { cp, lstat, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Account, AccountDb } from '../accounts.ts';
import type { AgentState } from '../agent-state.ts';
import { AsyncQueue, feedKeepalive, keepaliveIntervalMs } from '../async-queue.ts';
import {
  Filesystem,
  type FilesystemEventSchema,
  type WatchDirResponseSchema,
} from '../gen/filesystem/filesystem_pb.ts';
import { resolveUserPath } from '../paths.ts';
import { requireAccount, userNameFromAuthorization } from '../request-user.ts';
import { toConnectError } from '../rpc-errors.ts';
import { type DirChange, DirWatcher } from './dir-watcher.ts';
import { type EntryInfoInit, entryInfo, entryInfoFromStats } from './entry-info.ts';
import { makeDirsOwnedBy } from './make-dirs.ts';
import { MAX_BUFFERED_EVENTS, type WatcherRegistry } from './watcher-registry.ts';

export type FilesystemEventInit = MessageInitShape<typeof FilesystemEventSchema>;
type WatchDirResponseInit = MessageInitShape<typeof WatchDirResponseSchema>;

export interface FilesystemServiceDeps {
  state: AgentState;
  accounts: () => Promise<AccountDb>;
  watchers: WatcherRegistry<FilesystemEventInit>;
}

/** Limits a ListDir walk, so a request for depth 1000 under / cannot hold the agent for minutes. */
const MAX_LIST_ENTRIES = 100_000;

interface Caller {
  accounts: AccountDb;
  account: Account;
}

async function caller(deps: FilesystemServiceDeps, context: HandlerContext): Promise<Caller> {
  const accounts = await deps.accounts();
  const name = userNameFromAuthorization(context.requestHeader.get('authorization'), deps.state.defaultUser);
  return { accounts, account: requireAccount(accounts, name) };
}

/** Runs a handler body with every failure mapped to the Connect code the SDK expects, naming the path. */
async function mapped<T>(path: string | undefined, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    throw toConnectError(e, path);
  }
}

async function requireDirectory(path: string): Promise<void> {
  const st = await stat(path);
  if (!st.isDirectory()) throw new ConnectError(`${path}: not a directory`, Code.InvalidArgument);
}

async function listTree(root: string, depth: number, accounts: AccountDb): Promise<EntryInfoInit[]> {
  const out: EntryInfoInit[] = [];
  const walk = async (dir: string, level: number): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const path = join(dir, name);
      const st = await lstat(path).catch(() => undefined);
      if (!st) continue; // removed while listing
      if (out.length >= MAX_LIST_ENTRIES) {
        throw new ConnectError(
          `${root}: more than ${MAX_LIST_ENTRIES} entries; list with a smaller depth`,
          Code.ResourceExhausted,
        );
      }
      out.push(await entryInfoFromStats(path, st, accounts));
      if (st.isDirectory() && level < depth) await walk(path, level + 1);
    }
  };
  await walk(root, 1);
  return out;
}

async function startWatcher(
  path: string,
  recursive: boolean,
  includeEntry: boolean,
  accounts: AccountDb,
  onEvent: (event: FilesystemEventInit) => void,
  onFailure: (error: Error) => void,
): Promise<DirWatcher> {
  await requireDirectory(path);
  const describe = async (change: DirChange): Promise<void> => {
    const entry = includeEntry ? await entryInfo(change.path, accounts).catch(() => undefined) : undefined;
    onEvent({ name: change.name, type: change.type, ...(entry ? { entry } : {}) });
  };
  const watcher = new DirWatcher(path, recursive, (change) => void describe(change), onFailure);
  await watcher.start();
  return watcher;
}

export function registerFilesystemService(router: ConnectRouter, deps: FilesystemServiceDeps): void {
  router.service(Filesystem, {
    async stat(request, context) {
      const { accounts, account } = await caller(deps, context);
      const path = resolveUserPathOrThrow(request.path, account);
      return mapped(path, async () => ({ entry: await entryInfo(path, accounts) }));
    },

    async makeDir(request, context) {
      const { accounts, account } = await caller(deps, context);
      const path = resolveUserPathOrThrow(request.path, account);
      return mapped(path, async () => {
        if (!(await makeDirsOwnedBy(path, account)))
          throw new ConnectError(`${path}: already exists`, Code.AlreadyExists);
        return { entry: await entryInfo(path, accounts) };
      });
    },

    async move(request, context) {
      const { accounts, account } = await caller(deps, context);
      const source = resolveUserPathOrThrow(request.source, account, 'source');
      const destination = resolveUserPathOrThrow(request.destination, account, 'destination');
      await mapped(source, () => lstat(source));
      return mapped(destination, async () => {
        await makeDirsOwnedBy(dirname(destination), account);
        try {
          await rename(source, destination);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
          await cp(source, destination, {
            recursive: true,
            preserveTimestamps: true,
            verbatimSymlinks: true,
            errorOnExist: false,
            force: true,
          });
          await rm(source, { recursive: true, force: true });
        }
        return { entry: await entryInfo(destination, accounts) };
      });
    },

    async listDir(request, context) {
      const { accounts, account } = await caller(deps, context);
      const path = resolveUserPathOrThrow(request.path, account);
      return mapped(path, async () => {
        await requireDirectory(path);
        return { entries: await listTree(path, Math.max(request.depth, 1), accounts) };
      });
    },

    async remove(request, context) {
      const { account } = await caller(deps, context);
      const path = resolveUserPathOrThrow(request.path, account);
      return mapped(path, async () => {
        await lstat(path);
        await rm(path, { recursive: true, force: true });
        return {};
      });
    },

    async *watchDir(request, context) {
      const { accounts, account } = await caller(deps, context);
      const path = resolveUserPathOrThrow(request.path, account);
      const queue = new AsyncQueue<WatchDirResponseInit>();
      let failure: Error | undefined;
      const watcher = await mapped(path, () =>
        startWatcher(
          path,
          request.recursive,
          request.includeEntry,
          accounts,
          (event) => {
            if (queue.length >= MAX_BUFFERED_EVENTS) {
              failure ??= new Error(`more than ${MAX_BUFFERED_EVENTS} events were not read in time`);
              queue.end();
            }
            queue.push({ event: { case: 'filesystem', value: event } });
          },
          (error) => {
            failure = error;
            queue.end();
          },
        ),
      );
      const stop = feedKeepalive(
        queue,
        keepaliveIntervalMs(context.requestHeader),
        (): WatchDirResponseInit => ({ event: { case: 'keepalive', value: {} } }),
        context.signal,
      );
      try {
        yield { event: { case: 'start', value: {} } };
        yield* queue;
        if (failure) throw new ConnectError(`watch of ${path} ended: ${(failure as Error).message}`, Code.Aborted);
      } finally {
        stop();
        watcher.close();
      }
    },

    async createWatcher(request, context) {
      const { accounts, account } = await caller(deps, context);
      const path = resolveUserPathOrThrow(request.path, account);
      let registered: ReturnType<WatcherRegistry<FilesystemEventInit>['add']> | undefined;
      const pending: FilesystemEventInit[] = [];
      const watcher = await mapped(path, () =>
        startWatcher(
          path,
          request.recursive,
          request.includeEntry,
          accounts,
          (event) => (registered ? deps.watchers.push(registered.entry, event) : pending.push(event)),
          () => undefined,
        ),
      );
      registered = deps.watchers.add(watcher);
      for (const event of pending) deps.watchers.push(registered.entry, event);
      return { watcherId: registered.id };
    },

    getWatcherEvents(request) {
      const entry = deps.watchers.get(request.watcherId);
      if (!entry) throw new ConnectError(`watcher ${JSON.stringify(request.watcherId)} not found`, Code.NotFound);
      if (entry.dropped > 0) {
        const dropped = entry.dropped;
        entry.dropped = 0;
        throw new ConnectError(
          `watcher ${request.watcherId} overflowed: ${dropped} events were dropped; the newest ${entry.events.length} are kept for the next call`,
          Code.ResourceExhausted,
        );
      }
      return { events: entry.events.splice(0) };
    },

    removeWatcher(request) {
      if (!deps.watchers.remove(request.watcherId)) {
        throw new ConnectError(`watcher ${JSON.stringify(request.watcherId)} not found`, Code.NotFound);
      }
      return {};
    },
  });
}

function resolveUserPathOrThrow(raw: string, account: Account, what = 'path'): string {
  try {
    return resolveUserPath(raw, account.home, what);
  } catch (e) {
    throw toConnectError(e);
  }
}
