/** The request/response paths and servers the RR tools (sockperf, tcp-rr) measure across. */
import type { ChildProcess } from 'node:child_process';
import type { RigContext } from '../../harness/rig-context.ts';
import type { RrPlacement } from './cpu-placement.ts';

/**
 * One request/response path: where each end runs, the server's address and port, and the CPUs they are pinned to
 * (left to the scheduler without a placement).
 */
export interface RrPath {
  /** argv prefixes that run a command inside the client's / the server's stack (`ip netns exec NS`, `jexec JAIL`). */
  clientExec: string[];
  serverExec: string[];
  address: string;
  port: number;
  placement?: RrPlacement;
}

export type UntilListening = (ctx: RigContext, exec: string[], port: number) => Promise<void>;

/** A server that outlives several client runs; `check` throws if it has exited. */
export interface RrServer {
  check(): void;
  stop(): void;
}

/** Watches a spawned server so a client run that follows its death fails with the server's exit, not a timeout. */
export function watchServer(child: ChildProcess, tool: string): RrServer {
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `${tool} server exited (${signal ?? `code ${code}`})`));
  return {
    check() {
      if (exited) throw new Error(exited);
    },
    stop() {
      if (exited === undefined) child.kill('SIGKILL');
    },
  };
}

/** One end of a one-shot exchange for the rigs that let the scheduler place both ends (egress, policy-under-load). */
export interface RrSide {
  exec: string[];
  address: string;
}
