/**
 * Requests to a sandbox host name through the gateway. `<port>-<id>.localhost:<port>` resolves to loopback in curl
 * and browsers but not in Node's resolver, so the request goes to the gateway's address with that name as Host.
 */
import { request } from 'node:http';

export interface SandboxHttpResponse {
  status: number;
  body: Buffer;
}

export function requestByHost(
  gatewayUrl: string,
  host: string,
  pathAndQuery: string,
  init: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<SandboxHttpResponse> {
  const gateway = new URL(gatewayUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: gateway.hostname,
        port: gateway.port,
        path: pathAndQuery,
        method: init.method ?? 'GET',
        headers: { ...init.headers, host },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${host}${pathAndQuery} within 30 s`)));
    req.on('error', reject);
    req.end(init.body);
  });
}
