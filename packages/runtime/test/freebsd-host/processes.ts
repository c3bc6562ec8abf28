import { type FreeBsdHost, ToolFailure } from './host.ts';

/**
 * Long-running processes in the model (bhyve): `spawn` validates argv through the registered starter exactly like
 * `run` does for short tools (and logs the call in `host.calls`), then keeps a process with a pid that signals act
 * on. A starter that rejects its argv makes the process exit at once with the tool's exit status and message.
 */
export type Signal = 'SIGTERM' | 'SIGKILL' | 'SIGSTOP' | 'SIGCONT' | 'SIGINT' | 0;

export interface ModelProcess {
  pid: number;
  argv: string[];
  state: 'running' | 'stopped' | 'exited';
  exitCode?: number;
  stderr: string;
  /** Resolves with the exit status when the process ends. */
  exited: Promise<number>;
  /** Called by the model when a signal arrives; returns the exit status if the signal ends the process. */
  onSignal?: (signal: Signal) => number | undefined;
}

export type Starter = (host: FreeBsdHost, args: string[], process: ModelProcess) => void;

interface ProcessTable {
  nextPid: number;
  processes: Map<number, ModelProcess>;
  starters: Map<string, Starter>;
  resolvers: Map<number, (code: number) => void>;
}

export function processTable(host: FreeBsdHost): ProcessTable {
  return host.part('proc', () => ({ nextPid: 4200, processes: new Map(), starters: new Map(), resolvers: new Map() }));
}

export function registerStarter(host: FreeBsdHost, name: string, starter: Starter): void {
  processTable(host).starters.set(name, starter);
}

export function spawn(host: FreeBsdHost, argv: readonly string[]): ModelProcess {
  host.calls.push([...argv]);
  const table = processTable(host);
  const [file, ...args] = argv;
  const pid = table.nextPid++;
  let resolve!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolve = r));
  const proc: ModelProcess = { pid, argv: [...argv], state: 'running', stderr: '', exited };
  table.processes.set(pid, proc);
  table.resolvers.set(pid, resolve);
  const starter = table.starters.get((file ?? '').split('/').pop() ?? '');
  if (!starter) {
    proc.stderr = `${file}: Command not found.\n`;
    exitProcess(host, pid, 127);
    return proc;
  }
  try {
    starter(host, args, proc);
  } catch (e) {
    if (!(e instanceof ToolFailure)) throw e;
    proc.stderr = `${(file ?? '').split('/').pop()}: ${e.message}\n`;
    exitProcess(host, pid, e.code);
  }
  return proc;
}

export function exitProcess(host: FreeBsdHost, pid: number, code: number): void {
  const table = processTable(host);
  const proc = table.processes.get(pid);
  if (!proc || proc.state === 'exited') return;
  proc.state = 'exited';
  proc.exitCode = code;
  table.resolvers.get(pid)?.(code);
  table.resolvers.delete(pid);
}

/** kill(2): false (ESRCH) when there is no such live process. */
export function signalProcess(host: FreeBsdHost, pid: number, signal: Signal): boolean {
  const proc = processTable(host).processes.get(pid);
  if (!proc || proc.state === 'exited') return false;
  if (signal === 0) return true;
  if (signal === 'SIGSTOP') {
    proc.state = 'stopped';
    return true;
  }
  if (signal === 'SIGCONT') {
    proc.state = 'running';
    return true;
  }
  if (signal === 'SIGKILL') {
    proc.onSignal?.(signal);
    exitProcess(host, pid, 128 + 9);
    return true;
  }
  // Other signals are delivered when the process runs (a stopped process keeps them pending).
  const code = proc.state === 'running' ? proc.onSignal?.(signal) : undefined;
  if (code !== undefined) exitProcess(host, pid, code);
  return true;
}

export function liveProcesses(host: FreeBsdHost): ModelProcess[] {
  return [...processTable(host).processes.values()].filter((p) => p.state !== 'exited');
}
