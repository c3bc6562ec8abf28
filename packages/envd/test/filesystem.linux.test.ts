import { chmod, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventType, FileType, type WatchDirResponse } from '../src/gen/filesystem/filesystem_pb.ts';
import { basicAuth, createTestUser, startTestAgent, type TestAgent, type TestUser } from './helpers/agent.ts';

let agent: TestAgent;
let user: TestUser;

beforeAll(async () => {
  user = await createTestUser();
  agent = await startTestAgent();
});
afterAll(async () => {
  await agent?.stop();
  await user?.remove();
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return Code[(error as ConnectError).code];
}

describe('filesystem.Filesystem', () => {
  it('Stat describes files, directories and symlinks; a missing path is not_found', async () => {
    const file = join(agent.dir, 'stat.txt');
    await writeFile(file, 'hello');
    await chmod(file, 0o640);
    await symlink(file, join(agent.dir, 'link'));
    const { entry } = await agent.filesystem.stat({ path: file });
    expect(entry).toMatchObject({
      name: 'stat.txt',
      type: FileType.FILE,
      path: file,
      size: 5n,
      mode: 0o640,
      permissions: '-rw-r-----',
      owner: 'root',
      group: 'root',
    });
    expect(Number(entry?.modifiedTime?.seconds)).toBe(Math.floor((await stat(file)).mtimeMs / 1000));
    expect((await agent.filesystem.stat({ path: agent.dir })).entry?.type).toBe(FileType.DIRECTORY);
    expect((await agent.filesystem.stat({ path: join(agent.dir, 'link') })).entry).toMatchObject({
      type: FileType.SYMLINK,
      symlinkTarget: file,
    });
    expect(await codeOf(agent.filesystem.stat({ path: join(agent.dir, 'missing') }))).toBe('NotFound');
  });

  it('resolves relative paths and ~ against the user home', async () => {
    const { filesystem } = agent.clients(basicAuth(user.name));
    await writeFile(join(user.home, 'rel.txt'), 'x');
    expect((await filesystem.stat({ path: 'rel.txt' })).entry?.path).toBe(join(user.home, 'rel.txt'));
    expect((await filesystem.stat({ path: '~/rel.txt' })).entry?.path).toBe(join(user.home, 'rel.txt'));
  });

  it('MakeDir creates parents owned by the user and answers already_exists the second time', async () => {
    const { filesystem } = agent.clients(basicAuth(user.name));
    const dir = join(agent.dir, 'made', 'deep', 'er');
    const { entry } = await filesystem.makeDir({ path: dir });
    expect(entry).toMatchObject({ type: FileType.DIRECTORY, path: dir, owner: user.name });
    expect((await stat(join(agent.dir, 'made'))).uid).toBe(user.uid);
    expect(await codeOf(filesystem.makeDir({ path: dir }))).toBe('AlreadyExists');
    await writeFile(join(agent.dir, 'plain'), '');
    expect(await codeOf(filesystem.makeDir({ path: join(agent.dir, 'plain', 'sub') }))).toBe('InvalidArgument');
  });

  it('Move renames into new parent directories; a missing source is not_found', async () => {
    const from = join(agent.dir, 'move-me.txt');
    await writeFile(from, 'moved');
    const to = join(agent.dir, 'moved', 'here.txt');
    const { entry } = await agent.filesystem.move({ source: from, destination: to });
    expect(entry).toMatchObject({ name: 'here.txt', path: to, type: FileType.FILE });
    expect(await readFile(to, 'utf8')).toBe('moved');
    expect(await codeOf(agent.filesystem.move({ source: from, destination: to }))).toBe('NotFound');
  });

  it('ListDir lists one level by default and descends to the requested depth', async () => {
    const root = join(agent.dir, 'tree');
    await mkdir(join(root, 'a', 'b', 'c'), { recursive: true });
    await writeFile(join(root, 'top.txt'), '');
    await writeFile(join(root, 'a', 'inner.txt'), '');
    const names = async (depth: number) =>
      (await agent.filesystem.listDir({ path: root, depth })).entries.map((e) => e.path.slice(root.length + 1)).sort();
    expect(await names(0)).toEqual(['a', 'top.txt']);
    expect(await names(1)).toEqual(['a', 'top.txt']);
    expect(await names(2)).toEqual(['a', 'a/b', 'a/inner.txt', 'top.txt']);
    expect(await names(10)).toEqual(['a', 'a/b', 'a/b/c', 'a/inner.txt', 'top.txt']);
    expect(await codeOf(agent.filesystem.listDir({ path: join(root, 'top.txt'), depth: 1 }))).toBe('InvalidArgument');
    expect(await codeOf(agent.filesystem.listDir({ path: join(root, 'nope'), depth: 1 }))).toBe('NotFound');
  });

  it('Remove deletes files and trees; a missing path is not_found', async () => {
    const tree = join(agent.dir, 'doomed');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'sub', 'f'), 'x');
    await agent.filesystem.remove({ path: tree });
    await expect(stat(tree)).rejects.toThrow(/ENOENT/);
    expect(await codeOf(agent.filesystem.remove({ path: tree }))).toBe('NotFound');
  });

  it('paths that are not valid UTF-8 or hold NUL are invalid_argument, sent as raw JSON', async () => {
    for (const body of ['{"path":"/tmp/\\ud800x"}', '{"path":"/tmp/a\\u0000b"}', '{"path":""}']) {
      const res = await fetch(`${agent.baseUrl}/filesystem.Filesystem/Stat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'invalid_argument' });
    }
  });

  it('WatchDir sends start, then create, write, chmod and remove events (recursively when asked)', async () => {
    const root = join(agent.dir, 'watched');
    await mkdir(join(root, 'existing-sub'), { recursive: true });
    const abort = new AbortController();
    const events: { name: string; type: EventType; entryPath?: string }[] = [];
    const stream = agent.filesystem.watchDir(
      { path: root, recursive: true, includeEntry: true },
      { signal: abort.signal },
    );
    const iterator = stream[Symbol.asyncIterator]();
    const first = (await iterator.next()).value as WatchDirResponse;
    expect(first.event.case).toBe('start');
    const reading = (async () => {
      try {
        for (;;) {
          const { value, done } = await iterator.next();
          if (done) return;
          if (value.event.case === 'filesystem')
            events.push({
              name: value.event.value.name,
              type: value.event.value.type,
              entryPath: value.event.value.entry?.path,
            });
        }
      } catch {
        // aborted below
      }
    })();
    await writeFile(join(root, 'new.txt'), 'a');
    await sleep(100);
    await writeFile(join(root, 'new.txt'), 'more');
    await sleep(100);
    await chmod(join(root, 'new.txt'), 0o600);
    await sleep(100);
    await writeFile(join(root, 'existing-sub', 'deep.txt'), 'x');
    await sleep(100);
    await rm(join(root, 'new.txt'));
    await sleep(300);
    abort.abort();
    await reading;
    const has = (name: string, type: EventType) => events.some((e) => e.name === name && e.type === type);
    expect(has('new.txt', EventType.CREATE)).toBe(true);
    expect(has('new.txt', EventType.WRITE)).toBe(true);
    expect(has('new.txt', EventType.CHMOD)).toBe(true);
    expect(has('new.txt', EventType.REMOVE)).toBe(true);
    expect(has(join('existing-sub', 'deep.txt'), EventType.CREATE)).toBe(true);
    expect(events.find((e) => e.type === EventType.CREATE && e.name === 'new.txt')?.entryPath).toBe(
      join(root, 'new.txt'),
    );
    expect(
      await codeOf(
        agent.filesystem
          .watchDir({ path: join(root, 'absent') })
          [Symbol.asyncIterator]()
          .next(),
      ),
    ).toBe('NotFound');
  });

  it('CreateWatcher buffers events for GetWatcherEvents until RemoveWatcher', async () => {
    const root = join(agent.dir, 'polled');
    await mkdir(root);
    const { watcherId } = await agent.filesystem.createWatcher({ path: root, recursive: false });
    await writeFile(join(root, 'one'), '1');
    await sleep(100);
    await rename(join(root, 'one'), join(root, 'two'));
    await sleep(200);
    const { events } = await agent.filesystem.getWatcherEvents({ watcherId });
    expect(events.map((e) => `${e.name}:${EventType[e.type]}`)).toEqual(
      expect.arrayContaining(['one:CREATE', 'two:CREATE', 'one:REMOVE']),
    );
    expect((await agent.filesystem.getWatcherEvents({ watcherId })).events).toEqual([]);
    await agent.filesystem.removeWatcher({ watcherId });
    expect(await codeOf(agent.filesystem.getWatcherEvents({ watcherId }))).toBe('NotFound');
    expect(await codeOf(agent.filesystem.removeWatcher({ watcherId }))).toBe('NotFound');
    expect(await codeOf(agent.filesystem.createWatcher({ path: join(root, 'two') }))).toBe('InvalidArgument');
  });
});
