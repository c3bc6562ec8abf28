import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { Code, ConnectError } from '@connectrpc/connect';
import type { Account } from '../accounts.ts';
import type { AsyncQueue } from '../async-queue.ts';
import { checkText } from '../paths.ts';
import { describeExit } from './exit-status.ts';
import { ManagedProcess, type ProcessConfigView, type ProcessOutput, type ProcessTable } from './process-table.ts';
import { type PtySize, ptyArgv } from './pty-helper.ts';

/** How long after a process exits its output pipes may stay open before its end is reported anyway. */
const PIPE_DRAIN_GRACE_MS = 200;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface SpawnRequest {
  config: ProcessConfigView;
  tag: string | undefined;
  stdin: boolean;
  account: Account;
  defaultEnv: Record<string, string>;
  defaultWorkdir: string | undefined;
  /** Run on a terminal of this size (stdin always open, output as `pty` events). */
  pty?: PtySize;
}

function environmentFor(request: SpawnRequest, cwd: string): Record<string, string> {
  const { account } = request;
  return {
    PATH: DEFAULT_PATH,
    HOME: account.home,
    USER: account.name,
    LOGNAME: account.name,
    SHELL: account.shell,
    PWD: cwd,
    ...(request.pty ? { TERM: 'xterm-256color' } : {}),
    ...request.defaultEnv,
    ...request.config.envs,
  };
}

function checkRequest(request: SpawnRequest): void {
  const { config } = request;
  if (config.cmd === '') throw new ConnectError('process.cmd is empty', Code.InvalidArgument);
  checkText(config.cmd, 'process.cmd');
  config.args.forEach((arg, i) => checkText(arg, `process.args[${i}]`));
  for (const [key, value] of Object.entries(config.envs)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      throw new ConnectError(`process.envs key ${JSON.stringify(key)} is not a variable name`, Code.InvalidArgument);
    checkText(value, `process.envs.${key}`);
  }
}

/**
 * Starts a process as the request's user in its own process group (so a signal reaches the whole command tree),
 * registers it in the table and returns it with a stream already attached, so no output can be missed.
 */
export async function spawnManaged(
  request: SpawnRequest,
  table: ProcessTable,
): Promise<{ managed: ManagedProcess; events: AsyncQueue<ProcessOutput> }> {
  try {
    checkRequest(request);
  } catch (e) {
    throw e instanceof ConnectError ? e : new ConnectError((e as Error).message, Code.InvalidArgument);
  }
  if (request.tag !== undefined && table.hasTag(request.tag)) {
    throw new ConnectError(`a process with tag ${JSON.stringify(request.tag)} is already running`, Code.AlreadyExists);
  }
  const cwd = request.config.cwd || request.defaultWorkdir || request.account.home;
  const cwdStat = await stat(cwd).catch(() => undefined);
  if (!cwdStat?.isDirectory())
    throw new ConnectError(`cwd ${JSON.stringify(cwd)} is not an existing directory`, Code.InvalidArgument);

  const { pty } = request;
  const child = spawn(
    pty ? 'python3' : request.config.cmd,
    pty ? ptyArgv(pty, request.config.cmd, request.config.args) : request.config.args,
    {
      cwd,
      env: environmentFor(request, cwd),
      uid: request.account.uid,
      gid: request.account.gid,
      detached: true,
      // A terminal process: stdin is the terminal's input, fd 3 takes resizes.
      stdio: pty ? ['pipe', 'pipe', 'pipe', 'pipe'] : [request.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    },
  );
  if (child.pid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new ConnectError(
      `cannot start ${JSON.stringify(request.config.cmd)}: ${error.message}`,
      Code.InvalidArgument,
    );
  }
  // Errors after a successful spawn (a write to a stdin the process closed) must not take the agent down.
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);

  const control = pty ? (child.stdio[3] as import('node:stream').Writable) : undefined;
  control?.on('error', () => undefined);
  const resize = control ? (size: PtySize) => control.write(`${size.cols} ${size.rows}\n`) : undefined;
  const managed = new ManagedProcess(child.pid, request.tag, { ...request.config, cwd }, child, resize);
  const events = managed.attach();
  table.add(managed);
  child.stdout?.on('data', (data: Buffer) => managed.emit({ kind: pty ? 'pty' : 'stdout', data }));
  child.stderr?.on('data', (data: Buffer) => managed.emit({ kind: 'stderr', data }));
  let ended = false;
  const end = (code: number | null, signal: NodeJS.Signals | null): void => {
    if (ended) return;
    ended = true;
    table.remove(managed);
    managed.emit({ kind: 'end', exit: describeExit(code, signal) });
  };
  // 'close' comes once the output pipes are drained too, so normally every byte is sent before `end`. A child left
  // in the background (`server &`) can hold the pipes open for ever, though: then the process's end is reported
  // once the pipes have been read freely (not paused for a slow client) for a grace period after the exit, and the
  // rest of the pipes is no longer read.
  child.on('close', end);
  child.on('exit', (code, signal) => {
    const check = (flowingBefore: boolean): void => {
      setTimeout(() => {
        if (ended) return;
        const flowing = !managed.outputPaused;
        if (!flowing || !flowingBefore) {
          check(flowing);
          return;
        }
        child.stdout?.destroy();
        child.stderr?.destroy();
        end(code, signal);
      }, PIPE_DRAIN_GRACE_MS).unref();
    };
    check(!managed.outputPaused);
  });
  return { managed, events };
}
