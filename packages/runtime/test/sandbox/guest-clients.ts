/**
 * The host's view of a sandbox as the E2B SDKs see it, for the sandbox integration test: Connect clients of the
 * agent's process and filesystem services (JSON codec, X-Access-Token), plain HTTP to the agent, and the code
 * interpreter's NDJSON /execute.
 */
import { createEnvdClients, type EnvdClients } from '../../../envd/src/client.ts';
import type { ConnectResponse, StartResponse } from '../../../envd/src/gen/process/process_pb.ts';

export const ENVD_PORT = 49983;
export const INTERPRETER_PORT = 49999;

export interface GuestClients {
  baseUrl: string;
  token: string;
  process: EnvdClients['process'];
  filesystem: EnvdClients['filesystem'];
  /** fetch against the agent with the access token set. */
  http(path: string, init?: RequestInit): Promise<Response>;
}

export function guestClients(address: string, token: string, user = 'user'): GuestClients {
  const baseUrl = `http://${address}:${ENVD_PORT}`;
  const clients = createEnvdClients(baseUrl, {
    'x-access-token': token,
    authorization: `Basic ${Buffer.from(`${user}:`).toString('base64')}`,
  });
  return {
    baseUrl,
    token,
    ...clients,
    http: (path, init = {}) =>
      fetch(`${baseUrl}${path}`, {
        ...init,
        headers: { 'x-access-token': token, ...(init.headers as Record<string, string> | undefined) },
        signal: init.signal ?? AbortSignal.timeout(30_000),
      }),
  };
}

export interface ProcessOutput {
  pid: number;
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
  status: string | undefined;
}

export async function collect(
  stream: AsyncIterable<StartResponse | ConnectResponse>,
  onStart?: (pid: number) => void,
): Promise<ProcessOutput> {
  const out: ProcessOutput = { pid: 0, stdout: '', stderr: '', exitCode: undefined, status: undefined };
  for await (const { event } of stream) {
    const e = event?.event;
    if (e?.case === 'start') {
      out.pid = e.value.pid;
      onStart?.(e.value.pid);
    }
    if (e?.case === 'data' && e.value.output.case === 'stdout')
      out.stdout += Buffer.from(e.value.output.value).toString();
    if (e?.case === 'data' && e.value.output.case === 'stderr')
      out.stderr += Buffer.from(e.value.output.value).toString();
    if (e?.case === 'end') Object.assign(out, { exitCode: e.value.exitCode, status: e.value.status });
  }
  return out;
}

/** Runs a shell script in the sandbox to its end. */
export function sh(g: GuestClients, script: string, envs: Record<string, string> = {}): Promise<ProcessOutput> {
  return collect(g.process.start({ process: { cmd: '/bin/bash', args: ['-c', script], envs } }, { timeoutMs: 60_000 }));
}

export interface ExecutionEvent {
  type: string;
  text?: string;
  name?: string;
  value?: string;
  traceback?: string;
  is_main_result?: boolean;
  [mime: string]: unknown;
}

/** POST /execute on the code interpreter; resolves with every NDJSON event of the cell. */
export async function runCode(
  address: string,
  token: string,
  body: Record<string, unknown>,
  timeoutMs = 120_000,
): Promise<{ status: number; events: ExecutionEvent[]; text: string }> {
  const res = await fetch(`http://${address}:${INTERPRETER_PORT}/execute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-access-token': token },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status !== 200) return { status: res.status, events: [], text };
  const events = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ExecutionEvent);
  return { status: res.status, events, text };
}

export const stdoutOf = (events: ExecutionEvent[]) =>
  events
    .filter((e) => e.type === 'stdout')
    .map((e) => e.text)
    .join('');
