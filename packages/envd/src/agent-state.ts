/** What /init sets and later requests read. One instance per agent process. */
export interface AgentState {
  /** X-Access-Token every request except /health must carry; unset until /init gives one. */
  accessToken: string | undefined;
  /** Environment every started process gets, below the variables of its own request. */
  defaultEnv: Record<string, string>;
  /** User for requests that name none. */
  defaultUser: string;
  /** Working directory of processes that name none; the user's home when unset. */
  defaultWorkdir: string | undefined;
  sandboxId: string | undefined;
  /** Counts /init calls that reached the end; written to the generation file. */
  generation: number;
}

export function newAgentState(defaultUser: string): AgentState {
  return {
    accessToken: undefined,
    defaultEnv: {},
    defaultUser,
    defaultWorkdir: undefined,
    sandboxId: undefined,
    generation: 0,
  };
}
