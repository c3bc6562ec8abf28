import { Code, ConnectError, type ConnectRouter, type HandlerContext } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { AccountDb } from '../accounts.ts';
import type { AgentState } from '../agent-state.ts';
import { feedKeepalive, keepaliveIntervalMs } from '../async-queue.ts';
import { Process, type ProcessEventSchema, type ProcessSelector, Signal } from '../gen/process/process_pb.ts';
import { requireAccount, userNameFromAuthorization } from '../request-user.ts';
import type { AsyncQueue } from '../async-queue.ts';
import type { ManagedProcess, ProcessOutput, ProcessTable } from './process-table.ts';
import { checkPtySize, type PtySize } from './pty-helper.ts';
import { spawnManaged } from './spawn-process.ts';

type ProcessEventInit = MessageInitShape<typeof ProcessEventSchema>;

export interface ProcessServiceDeps {
  state: AgentState;
  table: ProcessTable;
  accounts: () => Promise<AccountDb>;
}

function ptySizeOf(pty: { size?: { cols: number; rows: number } } | undefined): PtySize | undefined {
  if (!pty) return undefined;
  try {
    return checkPtySize(pty.size);
  } catch (e) {
    throw new ConnectError((e as Error).message, Code.InvalidArgument);
  }
}

function requireTerminal(managed: ManagedProcess): NonNullable<ManagedProcess['resize']> {
  if (!managed.resize)
    throw new ConnectError(`process ${managed.pid} was not started with a pty`, Code.FailedPrecondition);
  return managed.resize;
}

function findProcess(table: ProcessTable, selector: ProcessSelector | undefined): ManagedProcess {
  const sel = selector?.selector;
  if (!sel || sel.case === undefined)
    throw new ConnectError('process selector (pid or tag) is missing', Code.InvalidArgument);
  const found = table.byPidOrTag(sel);
  if (!found) throw new ConnectError(`process with ${sel.case} ${JSON.stringify(sel.value)} not found`, Code.NotFound);
  return found;
}

function toEvent(output: ProcessOutput): ProcessEventInit {
  switch (output.kind) {
    case 'stdout':
      return { event: { case: 'data', value: { output: { case: 'stdout', value: output.data } } } };
    case 'stderr':
      return { event: { case: 'data', value: { output: { case: 'stderr', value: output.data } } } };
    case 'pty':
      return { event: { case: 'data', value: { output: { case: 'pty', value: output.data } } } };
    case 'keepalive':
      return { event: { case: 'keepalive', value: {} } };
    case 'end': {
      const { exitCode, exited, status } = output.exit;
      return {
        event: { case: 'end', value: { exitCode, exited, status, ...(exitCode !== 0 ? { error: status } : {}) } },
      };
    }
  }
}

/** Streams a process's events: `start{pid}` first, then output as produced, keepalives, and `end`. */
async function* streamEvents(
  managed: ManagedProcess,
  events: AsyncQueue<ProcessOutput>,
  context: HandlerContext,
): AsyncGenerator<{ event: ProcessEventInit }> {
  const stop = feedKeepalive(
    events,
    keepaliveIntervalMs(context.requestHeader),
    () => ({ kind: 'keepalive' }) as const,
    context.signal,
  );
  try {
    yield { event: { event: { case: 'start', value: { pid: managed.pid } } } };
    for await (const output of events) yield { event: toEvent(output) };
  } finally {
    stop();
    managed.detach(events);
  }
}

export function registerProcessService(router: ConnectRouter, deps: ProcessServiceDeps): void {
  const { state, table } = deps;
  router.service(Process, {
    list() {
      return {
        processes: table.all().map((p) => ({
          pid: p.pid,
          tag: p.tag,
          config: { cmd: p.config.cmd, args: p.config.args, envs: p.config.envs, cwd: p.config.cwd },
        })),
      };
    },

    async *start(request, context) {
      if (!request.process) throw new ConnectError('process is missing', Code.InvalidArgument);
      const pty = ptySizeOf(request.pty);
      const userName = userNameFromAuthorization(context.requestHeader.get('authorization'), state.defaultUser);
      const account = requireAccount(await deps.accounts(), userName);
      const { managed, events } = await spawnManaged(
        {
          config: {
            cmd: request.process.cmd,
            args: request.process.args,
            envs: request.process.envs,
            cwd: request.process.cwd,
          },
          tag: request.tag,
          stdin: pty !== undefined || (request.stdin ?? false),
          ...(pty ? { pty } : {}),
          account,
          defaultEnv: state.defaultEnv,
          defaultWorkdir: state.defaultWorkdir,
        },
        table,
      );
      yield* streamEvents(managed, events, context);
    },

    async *connect(request, context) {
      const managed = findProcess(table, request.process);
      yield* streamEvents(managed, managed.attach(), context);
    },

    update(request) {
      const managed = findProcess(table, request.process);
      const size = ptySizeOf(request.pty);
      if (size) requireTerminal(managed)(size);
      return {};
    },

    async sendInput(request) {
      const managed = findProcess(table, request.process);
      const input = request.input?.input;
      if (input?.case === 'pty') requireTerminal(managed);
      else if (input?.case !== 'stdin')
        throw new ConnectError('input.stdin or input.pty is missing', Code.InvalidArgument);
      const stdin = managed.child.stdin;
      if (!managed.acceptsInput || !stdin) {
        throw new ConnectError(
          `stdin of process ${managed.pid} is closed or was not requested at start`,
          Code.FailedPrecondition,
        );
      }
      await new Promise<void>((resolve, reject) => {
        stdin.write(input.value, (error) =>
          error
            ? reject(
                new ConnectError(`writing stdin of process ${managed.pid}: ${error.message}`, Code.FailedPrecondition),
              )
            : resolve(),
        );
      });
      return {};
    },

    sendSignal(request) {
      const managed = findProcess(table, request.process);
      const signal =
        request.signal === Signal.SIGKILL ? 'SIGKILL' : request.signal === Signal.SIGTERM ? 'SIGTERM' : undefined;
      if (!signal) throw new ConnectError(`signal ${request.signal} is not SIGKILL or SIGTERM`, Code.InvalidArgument);
      try {
        process.kill(-managed.pid, signal);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ESRCH')
          throw new ConnectError(`process ${managed.pid} is gone`, Code.NotFound);
        throw e;
      }
      return {};
    },

    closeStdin(request) {
      const managed = findProcess(table, request.process);
      if (!managed.child.stdin)
        throw new ConnectError(`process ${managed.pid} was started without stdin`, Code.FailedPrecondition);
      managed.closeStdin();
      return {};
    },
  });
}
