/**
 * A host-side client of the agent's Connect services as the E2B SDKs talk to them (JSON codec over HTTP/1.1), for
 * tests and tools outside this package: built here so the client and the service descriptors share this package's
 * one copy of @connectrpc/connect and @bufbuild/protobuf.
 */
import { type Client, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Filesystem } from './gen/filesystem/filesystem_pb.ts';
import { Process } from './gen/process/process_pb.ts';

export { Code, ConnectError } from '@connectrpc/connect';

export interface EnvdClients {
  process: Client<typeof Process>;
  filesystem: Client<typeof Filesystem>;
}

/** Clients of `baseUrl` (e.g. `http://10.0.0.2:49983`) sending `headers` (X-Access-Token, Authorization) on every call. */
export function createEnvdClients(baseUrl: string, headers: Record<string, string> = {}): EnvdClients {
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: '1.1',
    useBinaryFormat: false,
    interceptors: [
      (next) => (req) => {
        for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
        return next(req);
      },
    ],
  });
  return { process: createClient(Process, transport), filesystem: createClient(Filesystem, transport) };
}
