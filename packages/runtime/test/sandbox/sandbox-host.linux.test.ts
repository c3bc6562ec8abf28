import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, ConnectError } from '../../../envd/src/client.ts';
import { EventType, FileType } from '../../../envd/src/gen/filesystem/filesystem_pb.ts';
import { Signal } from '../../../envd/src/gen/process/process_pb.ts';
import { DEFAULT_POLICY } from '../../src/net/types.ts';
import { type OpenedSandboxHost, openSandboxHost } from '../../src/sandbox/open.ts';
import { collect, type GuestClients, guestClients, runCode, sh, stdoutOf } from './guest-clients.ts';

// Both Debian templates booted under QEMU on a cubenet of this test's own (prefix cpw, 10.84.0.0/24), two
// sandboxes of each checked out of their pools, and everything the E2B SDKs do inside a sandbox sent from the
// host over the sandbox's address: the agent's Connect services and HTTP routes, the code interpreter, the
// identity every clone of one checkpoint must not share, pause/resume and the writable layer's life.
const root = process.getuid?.() === 0;
const run = promisify(execFile);
const MiB = 1024 * 1024;

interface Sandbox {
  id: string;
  token: string;
  address: string;
  g: GuestClients;
}

let opened: OpenedSandboxHost | undefined;
let stateDir: string;
let runRoot: string;
const sandboxes: Record<'baseA' | 'baseB' | 'ciA' | 'ciB', Sandbox> = {} as never;

const identity = (id: string, token: string) => ({
  sandboxId: id,
  accessToken: token,
  envVars: { COPPICE_TEST_VAR: `value-of-${id}` },
});

async function create(templateId: string): Promise<Sandbox> {
  const id = `cpwsbx-${randomBytes(5).toString('hex')}`;
  const token = randomBytes(16).toString('hex');
  const { address } = await opened!.host.create(templateId, identity(id, token), DEFAULT_POLICY);
  return { id, token, address, g: guestClients(address, token) };
}

async function errorOf(p: Promise<unknown>): Promise<ConnectError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ConnectError);
  return e as ConnectError;
}

/** Files under `dir` whose bytes contain `needle` (grep reads sparse disk layers and memory images as they are). */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const r = await run('grep', ['-rlaF', '-D', 'skip', '--', needle, dir], { maxBuffer: 16 * MiB }).catch(
    (e: { code?: number; stdout?: string; stderr?: string }) => {
      if (e.code === 1) return { stdout: '' };
      // The pools refill meanwhile: a file listed and then removed before grep opened it is not an error here.
      const vanished = (e.stderr ?? '').split('\n').every((l) => l === '' || l.endsWith('No such file or directory'));
      if (e.code === 2 && vanished) return { stdout: e.stdout ?? '' };
      throw e;
    },
  );
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** The guest's wall clock against the host's around the call: how far outside [before, after] it reads, seconds. */
async function clockSkew(g: GuestClients): Promise<number> {
  const before = Date.now() / 1000;
  const out = await sh(g, 'date +%s.%N');
  const after = Date.now() / 1000;
  const guest = Number(out.stdout.trim());
  expect(Number.isFinite(guest), out.stdout).toBe(true);
  return guest < before ? before - guest : guest > after ? guest - after : 0;
}

describe.skipIf(!root || process.env.COPPICE_GUEST_TEMPLATES === '0')(
  'SandboxHost on the Debian templates under QEMU',
  () => {
    beforeAll(async () => {
      stateDir = await mkdtemp('/var/tmp/cpw-sbx-state-');
      runRoot = await mkdtemp('/run/cpw-sbx-run-');
      opened = await openSandboxHost({
        stateDir,
        runRoot,
        net: {
          prefix: 'cpw',
          ipv4Subnet: '10.84.0.0/24',
          ipv6Subnet: 'fd84::/64',
          stateDir: join(stateDir, 'net'),
          lockDir: join(stateDir, 'lock'),
        },
        templates: [
          {
            id: 'base',
            aliases: [],
            memoryMiB: 256,
            vcpus: 1,
            pool: { mode: 'two-tier', hot: 1, durable: 1, refillConcurrency: 1 },
          },
          {
            id: 'code-interpreter-v1',
            aliases: [],
            memoryMiB: 512,
            vcpus: 1,
            pool: { mode: 'two-tier', hot: 1, durable: 1, refillConcurrency: 1 },
          },
        ],
      });
      await opened.host.warm();
      sandboxes.baseA = await create('base');
      sandboxes.baseB = await create('base');
      sandboxes.ciA = await create('code-interpreter-v1');
      sandboxes.ciB = await create('code-interpreter-v1');
    }, 1_500_000);

    afterAll(async () => {
      await opened?.destroy();
      await rm(stateDir, { recursive: true, force: true });
      await rm(runRoot, { recursive: true, force: true });
    }, 300_000);

    describe('the agent over Connect and HTTP', () => {
      it('runs commands with env vars, cwd, stdin, exit codes and the sandbox identity', async () => {
        const { g, id } = sandboxes.baseA;
        const out = await collect(
          g.process.start({
            process: {
              cmd: '/bin/bash',
              args: ['-c', 'echo "$GREETING $COPPICE_TEST_VAR"; pwd; id -un; echo oops >&2; exit 3'],
              envs: { GREETING: 'hello' },
              cwd: '/tmp',
            },
          }),
        );
        expect(out.stdout).toBe(`hello value-of-${id}\n/tmp\nuser\n`);
        expect(out.stderr).toBe('oops\n');
        expect(out.exitCode).toBe(3);

        let pid = 0;
        const catRun = collect(
          g.process.start({ process: { cmd: '/bin/cat', args: [], envs: {} }, stdin: true, tag: 'cat-input' }),
          (p) => (pid = p),
        );
        for (let i = 0; i < 100 && pid === 0; i++) await sleep(50);
        expect(pid).toBeGreaterThan(0);
        await g.process.sendInput({
          process: { selector: { case: 'pid', value: pid } },
          input: { input: { case: 'stdin', value: Buffer.from('line one\n') } },
        });
        await g.process.closeStdin({ process: { selector: { case: 'tag', value: 'cat-input' } } });
        const catOut = await catRun;
        expect(catOut.stdout).toBe('line one\n');
        expect(catOut.exitCode).toBe(0);
      });

      it('lists, reattaches to, resizes and signals a running process', async () => {
        const { g } = sandboxes.baseA;
        let pid = 0;
        const ticker = collect(
          g.process.start({
            process: { cmd: '/bin/bash', args: ['-c', 'while :; do echo tick; sleep 0.2; done'], envs: {} },
            tag: 'ticker',
          }),
          (p) => (pid = p),
        );
        for (let i = 0; i < 100 && pid === 0; i++) await sleep(50);
        const listed = await g.process.list({});
        expect(listed.processes.find((p) => p.pid === pid)).toMatchObject({
          tag: 'ticker',
          config: { cmd: '/bin/bash' },
        });

        const attached = collect(g.process.connect({ process: { selector: { case: 'tag', value: 'ticker' } } }));
        await sleep(1000);
        await g.process.sendSignal({ process: { selector: { case: 'pid', value: pid } }, signal: Signal.SIGKILL });
        const [first, second] = await Promise.all([ticker, attached]);
        expect(first.stdout).toContain('tick');
        expect(second.stdout).toContain('tick');
        expect(first.status).toMatch(/killed/);
        expect((await g.process.list({})).processes.some((p) => p.pid === pid)).toBe(false);

        let ptyPid = 0;
        const shell = collect(
          g.process.start({
            process: { cmd: '/bin/bash', args: ['-c', 'sleep 2; stty size'], envs: {} },
            pty: { size: { cols: 80, rows: 24 } },
          }),
          (p) => (ptyPid = p),
        );
        for (let i = 0; i < 100 && ptyPid === 0; i++) await sleep(50);
        await g.process.update({
          process: { selector: { case: 'pid', value: ptyPid } },
          pty: { size: { cols: 132, rows: 40 } },
        });
        expect((await shell).exitCode).toBe(0);
      });

      it('serves every filesystem method, watchers included', async () => {
        const { g } = sandboxes.baseA;
        const dir = '/home/user/fs-test';
        const made = await g.filesystem.makeDir({ path: `${dir}/a/b` });
        expect(made.entry).toMatchObject({ name: 'b', type: FileType.DIRECTORY, owner: 'user' });
        await sh(g, `echo content > ${dir}/a/b/f.txt`);
        const stat = await g.filesystem.stat({ path: `${dir}/a/b/f.txt` });
        expect(stat.entry).toMatchObject({ type: FileType.FILE, size: 8n, path: `${dir}/a/b/f.txt` });
        const shallow = await g.filesystem.listDir({ path: dir, depth: 1 });
        expect(shallow.entries.map((e) => e.name)).toEqual(['a']);
        const deep = await g.filesystem.listDir({ path: dir, depth: 3 });
        expect(deep.entries.map((e) => e.path).sort()).toEqual([`${dir}/a`, `${dir}/a/b`, `${dir}/a/b/f.txt`]);
        const moved = await g.filesystem.move({ source: `${dir}/a/b/f.txt`, destination: `${dir}/g.txt` });
        expect(moved.entry?.path).toBe(`${dir}/g.txt`);

        const watchAbort = new AbortController();
        const seen: string[] = [];
        const watching = (async () => {
          for await (const r of g.filesystem.watchDir({ path: dir, recursive: false }, { signal: watchAbort.signal })) {
            if (r.event.case === 'filesystem') seen.push(`${EventType[r.event.value.type]} ${r.event.value.name}`);
            if (seen.some((s) => s.includes('streamed.txt'))) break;
          }
        })();
        const { watcherId } = await g.filesystem.createWatcher({ path: dir, recursive: false });
        await sleep(500);
        await sh(g, `echo x > ${dir}/streamed.txt`);
        await Promise.race([watching, sleep(10_000)]);
        watchAbort.abort();
        await watching.catch(() => undefined);
        expect(seen.some((s) => s.startsWith('CREATE streamed.txt'))).toBe(true);
        let polled: string[] = [];
        for (let i = 0; i < 20 && !polled.includes('streamed.txt'); i++) {
          polled.push(...(await g.filesystem.getWatcherEvents({ watcherId })).events.map((e) => e.name));
          await sleep(250);
        }
        expect(polled).toContain('streamed.txt');
        await g.filesystem.removeWatcher({ watcherId });
        expect((await errorOf(g.filesystem.getWatcherEvents({ watcherId }))).code).toBe(Code.NotFound);
        polled = [];

        await g.filesystem.remove({ path: dir });
        expect((await errorOf(g.filesystem.stat({ path: dir }))).code).toBe(Code.NotFound);
      });

      it('uploads and downloads files, answers /health and /metrics', async () => {
        const { g, id, token } = sandboxes.baseA;
        expect((await g.http('/health')).status).toBe(204);

        const bytes = randomBytes(256 * 1024);
        const form = new FormData();
        form.append('file', new Blob([bytes]), 'upload.bin');
        const up = await g.http('/files?path=/home/user/up/upload.bin&username=user', { method: 'POST', body: form });
        expect(up.status).toBe(200);
        expect(await up.json()).toEqual([expect.objectContaining({ path: '/home/user/up/upload.bin' })]);
        const down = await g.http('/files?path=/home/user/up/upload.bin');
        expect(down.status).toBe(200);
        expect(Buffer.from(await down.arrayBuffer()).equals(bytes)).toBe(true);

        const raw = await g.http('/files?path=raw.txt', {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream' },
          body: 'octets',
        });
        expect(raw.status).toBe(200);
        expect((await sh(g, 'cat /home/user/raw.txt; stat -c %U /home/user/raw.txt')).stdout).toBe('octetsuser\n');

        const metrics = (await (await g.http('/metrics')).json()) as Record<string, number>;
        expect(metrics.cpu_count).toBe(1);
        expect(metrics.mem_total).toBeGreaterThan(100 * MiB);
        expect(metrics.disk_total).toBeGreaterThan(1024 * MiB);
        expect((await opened!.host.metrics(id, token)).memTotal).toBe(metrics.mem_total);
      });

      it('answers bad input with the codes the SDK maps, and keeps serving', async () => {
        const { g, address } = sandboxes.baseA;
        const post = (path: string, type: string, body: Buffer | string) =>
          g.http(path, { method: 'POST', headers: { 'content-type': type }, body });

        const unknown = await post('/process.Process/Explode', 'application/json', '{}');
        expect(unknown.status).toBe(404);

        const head = Buffer.alloc(5);
        head.writeUInt32BE(1000, 1);
        const malformed = await post(
          '/process.Process/Start',
          'application/connect+json',
          Buffer.concat([head, Buffer.from('{"process":')]),
        );
        const malformedBody = Buffer.from(await malformed.arrayBuffer());
        if (malformed.status === 200) {
          // A stream's error travels in its end-of-stream envelope (flag 0x02).
          const end = malformedBody.subarray(5).toString();
          expect(malformedBody[0]! & 0x02).toBe(0x02);
          expect(JSON.parse(end)).toMatchObject({ error: { code: 'invalid_argument' } });
        } else expect(malformed.status).toBe(400);
        const badJson = await post('/filesystem.Filesystem/Stat', 'application/json', '{"path":5}');
        expect(badJson.status).toBe(400);
        expect(await badJson.json()).toMatchObject({ code: 'invalid_argument' });

        expect((await errorOf(g.filesystem.stat({ path: '/no/such/path' }))).code).toBe(Code.NotFound);
        expect((await errorOf(g.filesystem.listDir({ path: '/no/such/path', depth: 1 }))).code).toBe(Code.NotFound);
        expect(
          (
            await errorOf(
              g.process.sendSignal({
                process: { selector: { case: 'pid', value: 4_000_000 } },
                signal: Signal.SIGKILL,
              }),
            )
          ).code,
        ).toBe(Code.NotFound);
        expect(
          (
            await errorOf(
              g.process.sendInput({
                process: { selector: { case: 'tag', value: 'no-such-tag' } },
                input: { input: { case: 'stdin', value: Buffer.from('x') } },
              }),
            )
          ).code,
        ).toBe(Code.NotFound);

        const missing = await g.http('/files?path=/no/such/file');
        expect(missing.status).toBe(404);
        expect(await missing.json()).toMatchObject({ code: 404 });
        expect((await g.http('/files?path=%ff%fe')).status).toBe(400);
        expect((await g.http('/files')).status).toBe(400);

        const wrongToken = guestClients(address, 'not-the-token');
        expect((await errorOf(wrongToken.process.list({}))).code).toBe(Code.Unauthenticated);
        expect((await wrongToken.http('/files?path=/etc/hostname')).status).toBe(401);

        expect((await g.http('/health')).status).toBe(204);
        expect((await sh(g, 'echo still here')).stdout).toBe('still here\n');
      });
    });

    describe('the code interpreter', () => {
      it('keeps state, returns DataFrames as HTML, figures as PNG and exceptions with their traceback', async () => {
        const { address, token } = sandboxes.ciA;
        await runCode(address, token, { code: 'x = 42' });
        const x = await runCode(address, token, { code: 'x' });
        expect(x.events.find((e) => e.type === 'result')).toMatchObject({ text: '42', is_main_result: true });
        expect(x.events.at(-1)?.type).toBe('end_of_execution');

        const df = await runCode(address, token, {
          code: 'import pandas as pd\npd.DataFrame({"a": [1, 2], "b": [3, 4]})',
        });
        expect(String(df.events.find((e) => e.type === 'result')?.html)).toMatch(/<table/);

        const fig = await runCode(address, token, {
          code: 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()',
        });
        const png = fig.events.find((e) => e.type === 'result' && typeof e.png === 'string');
        expect(Buffer.from(String(png?.png), 'base64').subarray(1, 4).toString()).toBe('PNG');

        const err = await runCode(address, token, { code: '1 / 0' });
        expect(err.events.find((e) => e.type === 'error')).toMatchObject({
          name: 'ZeroDivisionError',
          value: 'division by zero',
          traceback: expect.stringContaining('ZeroDivisionError'),
        });

        const printed = await runCode(address, token, { code: 'print("to stdout")' });
        expect(stdoutOf(printed.events)).toBe('to stdout\n');
      });

      it('interrupts a cell past its timeout and keeps the context', async () => {
        const { address, token } = sandboxes.ciA;
        const started = Date.now();
        const slow = await runCode(address, token, { code: 'import time\ntime.sleep(60)', timeout: 2 });
        expect(Date.now() - started).toBeLessThan(20_000);
        expect(slow.events.find((e) => e.type === 'error')?.name).toMatch(/KeyboardInterrupt|TimeoutError/);
        const x = await runCode(address, token, { code: 'x' });
        expect(x.events.find((e) => e.type === 'result')).toMatchObject({ text: '42' });
      });

      it('creates and deletes contexts; an execute on a deleted one is a 404, another language a 400', async () => {
        const { address, token } = sandboxes.ciA;
        const url = `http://${address}:49999`;
        const headers = { 'content-type': 'application/json', 'x-access-token': token };
        const created = (await (await fetch(`${url}/contexts`, { method: 'POST', headers, body: '{}' })).json()) as {
          id: string;
          language: string;
        };
        expect(created.language).toBe('python');
        const inContext = await runCode(address, token, { code: 'y = 7\ny', context_id: created.id });
        expect(inContext.events.find((e) => e.type === 'result')).toMatchObject({ text: '7' });
        expect((await fetch(`${url}/contexts/${created.id}`, { method: 'DELETE', headers })).status).toBeLessThan(300);
        expect((await runCode(address, token, { code: 'y', context_id: created.id })).status).toBe(404);
        expect((await runCode(address, token, { code: '1', language: 'cobol' })).status).toBe(400);
        const x = await runCode(address, token, { code: 'x' });
        expect(x.events.find((e) => e.type === 'result')).toMatchObject({ text: '42' });
      });
    });

    describe('clones of one checkpoint do not share identity', () => {
      const draw = 'import os, random, uuid\nprint(os.urandom(16).hex(), random.random(), uuid.uuid4())';

      it('draw different random numbers in the warm kernel and in a new process', async () => {
        const [a, b] = [sandboxes.ciA, sandboxes.ciB];
        const [kernelA, kernelB] = await Promise.all([
          runCode(a.address, a.token, { code: draw }),
          runCode(b.address, b.token, { code: draw }),
        ]);
        const [ka, kb] = [stdoutOf(kernelA.events).trim().split(' '), stdoutOf(kernelB.events).trim().split(' ')];
        expect(ka).toHaveLength(3);
        for (let i = 0; i < 3; i++) expect(ka[i], `kernel draw ${i}`).not.toBe(kb[i]);

        for (const [x, y] of [
          [sandboxes.baseA, sandboxes.baseB],
          [sandboxes.ciA, sandboxes.ciB],
        ] as const) {
          const [pa, pb] = await Promise.all([
            sh(x.g, `python3 -c '${draw.replace(/\n/g, ';')}'`),
            sh(y.g, `python3 -c '${draw.replace(/\n/g, ';')}'`),
          ]);
          const [la, lb] = [pa.stdout.trim().split(' '), pb.stdout.trim().split(' ')];
          expect(la, pa.stderr).toHaveLength(3);
          for (let i = 0; i < 3; i++) expect(la[i], `process draw ${i}`).not.toBe(lb[i]);
        }
      });

      it('are named after their sandbox ids, resolve that name, and read the host clock', async () => {
        for (const s of Object.values(sandboxes)) {
          expect((await sh(s.g, 'hostname; cat /etc/hostname')).stdout).toBe(`${s.id}\n${s.id}\n`);
          // sudo and Python's getfqdn look the host name up; libnss-myhostname answers for it.
          expect((await sh(s.g, 'getent hosts "$(hostname)"')).stdout).toMatch(new RegExp(`\\s${s.id}\\s*$`, 'm'));
          expect(await clockSkew(s.g)).toBeLessThan(1);
        }
      });
    });

    describe('writable space', () => {
      it('has at least 1 GiB free on / and a write in one sandbox is invisible to the others', async () => {
        const { baseA, baseB, ciA } = sandboxes;
        const df = await sh(baseA.g, 'df -B1 --output=avail / | tail -1');
        expect(Number(df.stdout.trim())).toBeGreaterThanOrEqual(1024 * MiB);
        await sh(baseA.g, 'echo only-in-A > /home/user/isolation-probe; sync');
        expect((await sh(baseA.g, 'cat /home/user/isolation-probe')).stdout).toBe('only-in-A\n');
        for (const other of [baseB, ciA])
          expect((await sh(other.g, 'test -e /home/user/isolation-probe; echo $?')).stdout).toBe('1\n');
      });
    });

    describe('pause and resume', () => {
      it('keep files, processes, address and token, and resync the clock', async () => {
        const s = sandboxes.baseA;
        await sh(s.g, 'echo kept > /home/user/kept.txt; sync');
        const bg = await sh(s.g, 'nohup sleep 3600 >/dev/null 2>&1 & echo $!');
        const bgPid = Number(bg.stdout.trim());
        expect(bgPid).toBeGreaterThan(0);

        await opened!.host.pause(s.id);
        expect(opened!.host.find(s.id)?.state).toBe('paused');
        await sleep(3000);
        const { address } = await opened!.host.resume(s.id, identity(s.id, s.token));
        expect(address).toBe(s.address);
        expect(opened!.host.find(s.id)).toMatchObject({ state: 'running', address: s.address });

        expect((await sh(s.g, 'cat /home/user/kept.txt')).stdout).toBe('kept\n');
        expect((await sh(s.g, `kill -0 ${bgPid} && echo alive`)).stdout).toBe('alive\n');
        expect(await clockSkew(s.g)).toBeLessThan(1);
        expect((await sh(s.g, 'hostname')).stdout).toBe(`${s.id}\n`);
      });
    });

    describe('isolation, with real traffic from inside a guest', () => {
      it('reaches its own agent but not another sandbox, nor a service on the host side of the bridge', async () => {
        const { baseA, baseB } = sandboxes;
        // Stands for the gateway's control API on an address a guest could route to: the bridge's own.
        const hostSide = '10.84.0.1';
        const service = createServer((c) => c.end('coppice-host-service\n'));
        await new Promise<void>((resolve) => service.listen(0, hostSide, resolve));
        const port = (service.address() as AddressInfo).port;
        try {
          const connects = async (address: string, p: number) =>
            (await sh(baseA.g, `timeout 3 bash -c 'exec 3<>/dev/tcp/${address}/${p}' && echo open || echo closed`))
              .stdout;
          expect(await connects('127.0.0.1', 49983)).toBe('open\n');
          expect(await connects(baseB.address, 49983)).toBe('closed\n');
          expect(await connects(hostSide, port)).toBe('closed\n');
        } finally {
          await new Promise((resolve) => service.close(resolve));
        }
      });
    });

    describe('kill', () => {
      it('removes the sandbox and its disk layer: nothing it wrote is left in the run or state folder', async () => {
        const s = sandboxes.baseB;
        const marker = `cpw-layer-marker-${randomBytes(12).toString('hex')}`;
        await sh(s.g, `printf '%s' "$MARKER" > /home/user/marker.bin; sync`, { MARKER: marker });
        const holders = await filesContaining(runRoot, marker);
        expect(holders.length, 'the marker reached the sandbox layer').toBeGreaterThan(0);
        const layerDirs = new Set(holders.map((f) => f.split('/').slice(0, -1).join('/')));
        expect(layerDirs.size).toBe(1);
        const [layerDir] = layerDirs;

        await opened!.host.kill(s.id);
        expect(opened!.host.find(s.id)).toBeUndefined();
        expect(await readdir(layerDir!).catch(() => 'gone')).toBe('gone');
        expect(await filesContaining(runRoot, marker)).toEqual([]);
        expect(await filesContaining(stateDir, marker)).toEqual([]);
        await opened!.host.kill(s.id);
      });
    });
  },
);
