import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandExitError, FileNotFoundError, Sandbox } from 'e2b';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestUser, type TestUser } from './helpers/agent.ts';
import { type BundledAgent, buildBundle, startBundledAgent } from './helpers/bundled-agent.ts';

// The real e2b SDK against the bundled agent (run with ENVD_TEST_NODE to use the guest's Node): the SDK's debug
// mode plus sandboxUrl sends every envd call to one origin and skips the control plane (it then assumes the newest
// envd, so every version gate is open).
let agent: BundledAgent;
let user: TestUser;
let sandbox: Sandbox;

beforeAll(async () => {
  user = await createTestUser();
  agent = await startBundledAgent(await buildBundle(), ['--default-user', user.name]);
  sandbox = await Sandbox.create({ debug: true, sandboxUrl: agent.baseUrl, apiKey: `e2b_${'0'.repeat(40)}` });
}, 60_000);
afterAll(async () => {
  await agent?.stop();
  await user?.remove();
});

describe('the e2b SDK against the agent', { timeout: 20_000 }, () => {
  it('commands.run returns stdout, stderr and exit code as the default user; a failure is CommandExitError', async () => {
    const result = await sandbox.commands.run('echo "$(whoami) $HOME $GREETING"; echo warn >&2', {
      envs: { GREETING: 'hi' },
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: `${user.name} ${user.home} hi\n`, stderr: 'warn\n' });
    const root = await sandbox.commands.run('whoami', { user: 'root' });
    expect(root.stdout).toBe('root\n');
    const failed = await sandbox.commands.run('exit 7').catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(CommandExitError);
    expect((failed as CommandExitError).exitCode).toBe(7);
  });

  it('streams output through callbacks, takes stdin, lists and kills background commands', async () => {
    const chunks: string[] = [];
    const handle = await sandbox.commands.run('cat', {
      background: true,
      stdin: true,
      onStdout: (d: string) => void chunks.push(d),
    });
    await handle.sendStdin('line one\n');
    await sleep(200);
    expect(chunks.join('')).toBe('line one\n');
    expect((await sandbox.commands.list()).map((p) => p.pid)).toContain(handle.pid);
    await handle.closeStdin();
    expect((await handle.wait()).stdout).toBe('line one\n');

    const sleeper = await sandbox.commands.run('sleep 30', { background: true });
    expect(await sandbox.commands.kill(sleeper.pid)).toBe(true);
    await expect(sleeper.wait()).rejects.toBeInstanceOf(CommandExitError);
    expect(await sandbox.commands.kill(sleeper.pid)).toBe(false);
  });

  it('files: write, read, list, exists, getInfo, rename, makeDir and remove', async () => {
    const base = join(user.home, 'sdk');
    const info = await sandbox.files.write(join(base, 'hello.txt'), 'hello from the SDK');
    expect(info).toMatchObject({ name: 'hello.txt', path: join(base, 'hello.txt') });
    expect((await stat(join(base, 'hello.txt'))).uid).toBe(user.uid);
    expect(await sandbox.files.read(join(base, 'hello.txt'))).toBe('hello from the SDK');
    expect(await sandbox.files.read('sdk/hello.txt', { format: 'bytes' })).toEqual(
      new TextEncoder().encode('hello from the SDK'),
    );
    await sandbox.files.write([
      { path: join(base, 'a.txt'), data: 'a' },
      { path: join(base, 'b.txt'), data: new Blob(['b']) },
    ]);
    expect((await sandbox.files.list(base)).map((e) => e.name).sort()).toEqual(['a.txt', 'b.txt', 'hello.txt']);
    expect(await sandbox.files.exists(join(base, 'a.txt'))).toBe(true);
    expect(await sandbox.files.exists(join(base, 'zzz'))).toBe(false);
    expect(await sandbox.files.getInfo(join(base, 'a.txt'))).toMatchObject({ type: 'file', size: 1, owner: user.name });
    expect(await sandbox.files.makeDir(join(base, 'dir'))).toBe(true);
    expect(await sandbox.files.makeDir(join(base, 'dir'))).toBe(false);
    expect(await sandbox.files.rename(join(base, 'a.txt'), join(base, 'dir', 'a.txt'))).toMatchObject({
      path: join(base, 'dir', 'a.txt'),
    });
    expect((await sandbox.files.list(base, { depth: 2 })).map((e) => e.path)).toContain(join(base, 'dir', 'a.txt'));
    await sandbox.files.remove(join(base, 'dir'));
    expect(await sandbox.files.exists(join(base, 'dir'))).toBe(false);
    await expect(sandbox.files.read(join(base, 'dir', 'a.txt'))).rejects.toBeInstanceOf(FileNotFoundError);
    await expect(sandbox.files.getInfo(join(base, 'dir'))).rejects.toBeInstanceOf(FileNotFoundError);
  });

  it('files: octet-stream and gzip uploads, gzip downloads', async () => {
    const path = join(user.home, 'sdk-octet', 'o.txt');
    await sandbox.files.write(path, 'octets', { useOctetStream: true });
    expect(await sandbox.files.read(path)).toBe('octets');
    await sandbox.files.write(path, 'zipped '.repeat(100), { gzip: true });
    expect(await sandbox.files.read(path, { gzip: true })).toBe('zipped '.repeat(100));
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('from a '));
        controller.enqueue(new TextEncoder().encode('stream'));
        controller.close();
      },
    });
    await sandbox.files.write(path, streamed);
    expect(await sandbox.files.read(path)).toBe('from a stream');
  });

  it('files.watchDir reports changes', async () => {
    const dir = join(user.home, 'watched');
    await sandbox.files.makeDir(dir);
    const seen: string[] = [];
    const watcher = await sandbox.files.watchDir(dir, (event) => void seen.push(`${event.type}:${event.name}`));
    await sandbox.files.write(join(dir, 'new.txt'), 'x');
    await sleep(300);
    await watcher.stop();
    expect(seen).toContain('create:new.txt');
  });
});
