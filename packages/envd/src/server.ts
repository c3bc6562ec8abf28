import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { type AccountFiles, loadAccounts, SYSTEM_ACCOUNT_FILES } from './accounts.ts';
import { ACCESS_TOKEN_HEADER, accessTokenInterceptor, tokenAccepted, tokenMessage } from './access-token.ts';
import { fileUrlSignatureValid } from './file-url-signature.ts';
import { type AgentState, newAgentState } from './agent-state.ts';
import { handleFiles } from './files-http.ts';
import { type FilesystemEventInit, registerFilesystemService } from './filesystem/filesystem-service.ts';
import { WatcherRegistry } from './filesystem/watcher-registry.ts';
import { BodyTooLargeError, readSmallBody, sendError } from './http-util.ts';
import { applyInit, InitRequestError, parseInitRequest } from './init-request.ts';
import { MetricsReader } from './metrics.ts';
import type { OsEffects } from './os-effects.ts';
import { ProcessTable } from './process/process-table.ts';
import { registerProcessService } from './process/process-service.ts';

/** envd version the agent reports: the SDK's feature gates up to 0.6.4 are what this agent serves. */
export const ENVD_VERSION = '0.6.4';

export const DEFAULT_MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;
const MAX_INIT_BODY_BYTES = 64 * 1024;
/** Largest Connect request message (SendInput carries stdin chunks). */
const MAX_RPC_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface EnvdOptions {
  effects: OsEffects;
  defaultUser?: string;
  maxUploadBytes?: number;
  accountFiles?: AccountFiles;
}

export interface Envd {
  server: Server;
  state: AgentState;
  processes: ProcessTable;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stops listening, ends every watcher and kills every process group the agent started. */
  close(): Promise<void>;
}

const CONNECT_PATH = /^\/(process\.Process|filesystem\.Filesystem)\//;

async function handleInit(
  req: IncomingMessage,
  res: ServerResponse,
  state: AgentState,
  effects: OsEffects,
): Promise<void> {
  if (req.method !== 'POST') return sendError(res, 405, `method ${req.method} is not allowed on /init`);
  let body: unknown;
  try {
    body = JSON.parse((await readSmallBody(req, MAX_INIT_BODY_BYTES)).toString('utf8'));
  } catch (e) {
    if (e instanceof BodyTooLargeError) return sendError(res, 413, e.message, { connection: 'close' });
    return sendError(res, 400, `/init body is not JSON: ${(e as Error).message}`);
  }
  let request;
  try {
    request = parseInitRequest(body);
  } catch (e) {
    if (e instanceof InitRequestError) return sendError(res, 400, e.message);
    throw e;
  }
  try {
    await applyInit(request, state, effects);
  } catch (e) {
    return sendError(res, 500, `/init failed: ${(e as Error).message}`);
  }
  res.writeHead(204).end();
}

export function createEnvd(options: EnvdOptions): Envd {
  const state = newAgentState(options.defaultUser ?? 'user');
  const processes = new ProcessTable();
  const watchers = new WatcherRegistry<FilesystemEventInit>();
  const accountFiles = options.accountFiles ?? SYSTEM_ACCOUNT_FILES;
  const accounts = () => loadAccounts(accountFiles);
  const maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;

  const rpc = connectNodeAdapter({
    routes: (router) => {
      registerProcessService(router, { state, table: processes, accounts });
      registerFilesystemService(router, { state, accounts, watchers });
    },
    interceptors: [accessTokenInterceptor(state)],
    grpc: false,
    grpcWeb: false,
    readMaxBytes: MAX_RPC_MESSAGE_BYTES,
  });

  const metrics = new MetricsReader();
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Split by hand rather than with WHATWG URL, which re-encodes the query and reads "//x" as a host.
    const raw = req.url ?? '/';
    const queryAt = raw.indexOf('?');
    const pathname = queryAt < 0 ? raw : raw.slice(0, queryAt);
    const search = queryAt < 0 ? '' : raw.slice(queryAt);
    if (pathname === '/health') {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 204 : 405).end();
      return;
    }
    const header = req.headers[ACCESS_TOKEN_HEADER];
    const presented = Array.isArray(header) ? header[0] : header;
    // Connect routes are checked by the router's interceptor, so that the refusal is a Connect error.
    const isRpc = CONNECT_PATH.test(pathname);
    const signedFileUrl = () =>
      pathname === '/files' &&
      state.accessToken !== undefined &&
      fileUrlSignatureValid(new URLSearchParams(search), req.method ?? 'GET', state.accessToken);
    if (!isRpc && !tokenAccepted(state, presented) && !signedFileUrl())
      return sendError(res, 401, tokenMessage(presented));
    if (pathname === '/init') return handleInit(req, res, state, options.effects);
    if (pathname === '/metrics') {
      if (req.method !== 'GET') return sendError(res, 405, `method ${req.method} is not allowed on /metrics`);
      const body = JSON.stringify(await metrics.read());
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      return;
    }
    if (pathname === '/files') return handleFiles(req, res, search, { state, accounts, maxUploadBytes });
    if (isRpc && /proto/i.test(String(req.headers['content-type'] ?? ''))) {
      return sendError(res, 415, 'this agent speaks the Connect protocol with the JSON codec only');
    }
    rpc(req, res);
  };

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => sendError(res, 500, e instanceof Error ? e.message : String(e)));
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  return {
    server,
    state,
    processes,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: async () => {
      watchers.closeAll();
      processes.killAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
