import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectResponse, StartResponse } from '../src/gen/process/process_pb.ts';
import { Signal } from '../src/gen/process/process_pb.ts';
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

interface Collected {
  pid: number;
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
  exited: boolean | undefined;
  status: string | undefined;
  keepalives: number;
  kinds: string[];
  pty: string;
}

async function collect(stream: AsyncIterable<StartResponse | ConnectResponse>): Promise<Collected> {
  const out: Collected = {
    pid: 0,
    stdout: '',
    stderr: '',
    exitCode: undefined,
    exited: undefined,
    status: undefined,
    keepalives: 0,
    kinds: [],
    pty: '',
  };
  for await (const { event } of stream) {
    const e = event?.event;
    if (!e?.case) continue;
    out.kinds.push(e.case);
    if (e.case === 'start') out.pid = e.value.pid;
    if (e.case === 'keepalive') out.keepalives += 1;
    if (e.case === 'data' && e.value.output.case === 'stdout')
      out.stdout += Buffer.from(e.value.output.value).toString();
    if (e.case === 'data' && e.value.output.case === 'stderr')
      out.stderr += Buffer.from(e.value.output.value).toString();
    if (e.case === 'data' && e.value.output.case === 'pty') out.pty += Buffer.from(e.value.output.value).toString();
    if (e.case === 'end')
      Object.assign(out, { exitCode: e.value.exitCode, exited: e.value.exited, status: e.value.status });
  }
  return out;
}

const sh = (script: string, extra: Record<string, unknown> = {}) => ({
  process: { cmd: '/bin/sh', args: ['-c', script], envs: {} },
  ...extra,
});

async function expectCode(promise: Promise<unknown>, code: Code, message?: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  expect(Code[(error as ConnectError).code]).toBe(Code[code]);
  if (message) expect((error as ConnectError).rawMessage).toMatch(message);
}

describe('process.Process', () => {
  it('Start streams start first, then stdout and stderr, then end with the exit code', async () => {
    const result = await collect(agent.process.start(sh('echo out; echo err >&2; exit 3')));
    expect(result.kinds[0]).toBe('start');
    expect(result.kinds.at(-1)).toBe('end');
    expect(result.pid).toBeGreaterThan(0);
    expect(result).toMatchObject({
      stdout: 'out\n',
      stderr: 'err\n',
      exitCode: 3,
      exited: true,
      status: 'exit status 3',
    });
  });

  it('streams output as it is produced, not when the process exits', async () => {
    const started = Date.now();
    let firstOutputAt = 0;
    let endAt = 0;
    for await (const { event } of agent.process.start(sh('echo early; sleep 1.5; echo late'))) {
      if (event?.event.case === 'data' && !firstOutputAt) firstOutputAt = Date.now() - started;
      if (event?.event.case === 'end') endAt = Date.now() - started;
    }
    expect(endAt).toBeGreaterThanOrEqual(1400);
    expect(firstOutputAt).toBeLessThan(endAt - 1000);
  });

  it('runs as the requested user with that home as cwd and HOME, with request env over /init env', async () => {
    const init = await fetch(`${agent.baseUrl}/init`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ envVars: { FROM_INIT: 'init', SHARED: 'init' } }),
    });
    expect(init.status).toBe(204);
    const { process } = agent.clients(basicAuth(user.name));
    const result = await collect(
      process.start({
        process: {
          cmd: '/bin/sh',
          args: ['-c', 'echo "$(id -u):$(id -g):$HOME:$USER:$(pwd):$FROM_INIT:$SHARED:$OWN"'],
          envs: { SHARED: 'request', OWN: 'own' },
        },
      }),
    );
    expect(result.stdout).toBe(`${user.uid}:${user.gid}:${user.home}:${user.name}:${user.home}:init:request:own\n`);
  });

  it('honours cwd and refuses one that does not exist', async () => {
    const result = await collect(
      agent.process.start({ process: { cmd: '/bin/pwd', args: [], envs: {}, cwd: agent.dir } }),
    );
    expect(result.stdout.trim()).toBe(agent.dir);
    await expectCode(
      collect(agent.process.start({ process: { cmd: '/bin/pwd', args: [], envs: {}, cwd: `${agent.dir}/missing` } })),
      Code.InvalidArgument,
      /cwd/,
    );
  });

  it('refuses an unknown user, a missing program and a terminal of no size', async () => {
    const { process } = agent.clients(basicAuth('cpe2e-nobody-here'));
    await expectCode(collect(process.start(sh('true'))), Code.Unauthenticated, /does not exist/);
    await expectCode(
      collect(agent.process.start({ process: { cmd: '/nonexistent/program', args: [], envs: {} } })),
      Code.InvalidArgument,
      /cannot start/,
    );
    await expectCode(
      collect(agent.process.start({ ...sh('true'), pty: { size: { cols: 0, rows: 24 } } })),
      Code.InvalidArgument,
      /pty.size/,
    );
  });

  it('runs a process on a terminal: its size, input, resize (SIGWINCH) and exit code', async () => {
    const stream = agent.process.start({
      ...sh(
        'stty size; tty -s && echo on-a-tty; trap "stty size" WINCH; until read line; do :; done; echo "got $line"; exit 4',
      ),
      pty: { size: { cols: 80, rows: 24 } },
    });
    const iterator = stream[Symbol.asyncIterator]();
    const pid = (await iterator.next()).value.event.event.value.pid as number;
    const selector = { selector: { case: 'pid' as const, value: pid } };
    await sleep(300);
    await agent.process.update({ process: selector, pty: { size: { cols: 132, rows: 40 } } });
    await sleep(300);
    await agent.process.sendInput({ process: selector, input: { input: { case: 'pty', value: Buffer.from('hi\n') } } });
    const out = await collect({ [Symbol.asyncIterator]: () => iterator });
    expect(out.stdout).toBe('');
    expect(out.pty).toContain('24 80');
    expect(out.pty).toContain('on-a-tty');
    expect(out.pty).toContain('40 132');
    expect(out.pty).toContain('got hi');
    expect(out.exitCode).toBe(4);
  });

  it('SIGKILL ends a terminal process and the command on it', async () => {
    const stream = agent.process.start({ ...sh('sleep 30'), pty: { size: { cols: 80, rows: 24 } } });
    const iterator = stream[Symbol.asyncIterator]();
    const pid = (await iterator.next()).value.event.event.value.pid as number;
    await sleep(300);
    await agent.process.sendSignal({ process: { selector: { case: 'pid', value: pid } }, signal: Signal.SIGKILL });
    const out = await collect({ [Symbol.asyncIterator]: () => iterator });
    expect(out).toMatchObject({ exitCode: -1, exited: false, status: 'signal: killed' });
    await sleep(300);
    const left = await promisify(execFile)('pgrep', ['-f', '^sleep 30$']).then(
      (r) => r.stdout.trim(),
      () => '',
    );
    expect(left).toBe('');
  });

  it('SendInput feeds stdin and CloseStdin ends it', async () => {
    const stream = agent.process.start(sh('cat; echo done', { stdin: true }), {});
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    const pid = first.value.event.event.value.pid as number;
    const selector = { selector: { case: 'pid' as const, value: pid } };
    await agent.process.sendInput({
      process: selector,
      input: { input: { case: 'stdin', value: Buffer.from('hello ') } },
    });
    await agent.process.sendInput({
      process: selector,
      input: { input: { case: 'stdin', value: Buffer.from('world\n') } },
    });
    await agent.process.closeStdin({ process: selector });
    const rest = await collect({ [Symbol.asyncIterator]: () => iterator });
    expect(rest.stdout).toBe('hello world\ndone\n');
    expect(rest.exitCode).toBe(0);
  });

  it('SendInput to a process started without stdin is a failed precondition', async () => {
    const stream = agent.process.start(sh('sleep 5', { tag: 'cpe2e-nostdin' }));
    const iterator = stream[Symbol.asyncIterator]();
    const pid = (await iterator.next()).value.event.event.value.pid as number;
    await expectCode(
      agent.process.sendInput({
        process: { selector: { case: 'pid', value: pid } },
        input: { input: { case: 'stdin', value: Buffer.from('x') } },
      }),
      Code.FailedPrecondition,
    );
    await agent.process.sendSignal({
      process: { selector: { case: 'tag', value: 'cpe2e-nostdin' } },
      signal: Signal.SIGKILL,
    });
    const rest = await collect({ [Symbol.asyncIterator]: () => iterator });
    expect(rest).toMatchObject({ exitCode: -1, exited: false, status: 'signal: killed' });
  });

  it('List shows running processes with tag and config; Connect attaches by tag; SIGTERM ends the whole group', async () => {
    const stream = agent.process.start(sh('sleep 30 & wait', { tag: 'cpe2e-listed' }));
    const iterator = stream[Symbol.asyncIterator]();
    const pid = (await iterator.next()).value.event.event.value.pid as number;
    const listed = (await agent.process.list({})).processes.find((p) => p.pid === pid);
    expect(listed).toMatchObject({ tag: 'cpe2e-listed', config: { cmd: '/bin/sh', args: ['-c', 'sleep 30 & wait'] } });

    await expectCode(collect(agent.process.start(sh('true', { tag: 'cpe2e-listed' }))), Code.AlreadyExists);
    const attached = collect(agent.process.connect({ process: { selector: { case: 'tag', value: 'cpe2e-listed' } } }));
    await agent.process.update({ process: { selector: { case: 'pid', value: pid } } });
    await expectCode(
      agent.process.update({ process: { selector: { case: 'pid', value: pid } }, pty: { size: { cols: 1, rows: 1 } } }),
      Code.FailedPrecondition,
    );
    await agent.process.sendSignal({ process: { selector: { case: 'pid', value: pid } }, signal: Signal.SIGTERM });
    const viaConnect = await attached;
    expect(viaConnect.kinds[0]).toBe('start');
    expect(viaConnect.pid).toBe(pid);
    expect(viaConnect).toMatchObject({ exitCode: -1, exited: false, status: 'signal: terminated' });
    await collect({ [Symbol.asyncIterator]: () => iterator });
    expect((await agent.process.list({})).processes.some((p) => p.pid === pid)).toBe(false);
    // The background sleep was in the same process group and got the signal too (a zombie awaiting its reaper is dead).
    const group = await promisify(execFile)('pgrep', ['-g', String(pid)]).then(
      (r) => r.stdout.trim().split('\n'),
      () => [],
    );
    const alive = group.filter((p) => {
      try {
        return !/^State:\s+Z/m.test(readFileSync(`/proc/${p}/status`, 'utf8'));
      } catch {
        return false; // gone since pgrep listed it
      }
    });
    expect(alive).toEqual([]);
  });

  it('signals, input and Connect for a process that is gone are not_found', async () => {
    const { pid } = await collect(agent.process.start(sh('true')));
    const gone = { selector: { case: 'pid' as const, value: pid } };
    await expectCode(agent.process.sendSignal({ process: gone, signal: Signal.SIGKILL }), Code.NotFound);
    await expectCode(
      agent.process.sendInput({ process: gone, input: { input: { case: 'stdin', value: Buffer.from('x') } } }),
      Code.NotFound,
    );
    await expectCode(agent.process.closeStdin({ process: gone }), Code.NotFound);
    await expectCode(collect(agent.process.connect({ process: gone })), Code.NotFound);
    await expectCode(
      agent.process.sendSignal({ process: { selector: { case: undefined } }, signal: Signal.SIGKILL }),
      Code.InvalidArgument,
    );
  });

  it('reports the end of a process whose background child keeps the output pipes open', async () => {
    const started = Date.now();
    const result = await collect(agent.process.start(sh('echo before; sleep 20 & echo after')));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result).toMatchObject({ stdout: 'before\nafter\n', exitCode: 0, exited: true });
    process.kill(-result.pid, 'SIGKILL'); // the background sleep, still in the process group
  });

  it('pauses a process that writes faster than its stream is read, instead of buffering without bound', async () => {
    const stream = agent.process.start({ process: { cmd: '/usr/bin/yes', args: [], envs: {} } });
    const iterator = stream[Symbol.asyncIterator]();
    const pid = (await iterator.next()).value.event.event.value.pid as number;
    const cpuTicks = () => {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Number(fields[11]) + Number(fields[12]); // utime + stime
    };
    await sleep(1000); // nobody reads: buffers fill, then the pipe is paused and yes blocks in write
    const before = cpuTicks();
    await sleep(1000);
    expect(cpuTicks() - before).toBeLessThan(10); // an unpaused yes burns ~100 ticks a second
    expect(readFileSync(`/proc/${pid}/wchan`, 'utf8')).toMatch(/pipe|sock/); // blocked writing its stdout (libuv's stdio pipes are socketpairs)
    await agent.process.sendSignal({ process: { selector: { case: 'pid', value: pid } }, signal: Signal.SIGKILL });
    await iterator.return?.();
  });

  it('delivers every byte of a process that exits while its output is paused for a slow reader', async () => {
    const size = 30_000_000;
    const stream = agent.process.start(sh(`head -c ${size} /dev/zero`));
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // start
    await sleep(2000); // the reader lags: the agent pauses the pipes, head blocks, then exits with output still unread
    let bytes = 0;
    let exitCode: number | undefined;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const e = next.value.event?.event;
      if (e?.case === 'data' && e.value.output.case === 'stdout') bytes += e.value.output.value.length;
      if (e?.case === 'end') exitCode = e.value.exitCode;
    }
    expect(exitCode).toBe(0);
    expect(bytes).toBe(size);
  }, 30_000);

  it('sends keepalive events at the interval the client asks for', async () => {
    const result = await collect(agent.process.start(sh('sleep 2.5'), { headers: { 'keepalive-ping-interval': '1' } }));
    expect(result.keepalives).toBeGreaterThanOrEqual(2);
    expect(result.exitCode).toBe(0);
  });
});
