/**
 * Forwards one request to a sandbox's port and streams both ways as bytes arrive (Connect server streams and
 * NDJSON pass through as they are produced). The routing headers and the gateway's own credentials are not passed on.
 */
import { request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);
const STRIPPED = new Set(['x-api-key', 'e2b-sandbox-id', 'e2b-sandbox-port', 'e2b-traffic-access-token']);

export function forward(req: IncomingMessage, res: ServerResponse, address: string, port: number): void {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || STRIPPED.has(k)) continue;
    headers[k] = v;
  }
  headers.host = `${address.includes(':') ? `[${address}]` : address}:${port}`;
  const upstream = httpRequest({ host: address, port, method: req.method, path: req.url, headers, agent }, (up) => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
    res.writeHead(up.statusCode ?? 502, out);
    res.flushHeaders();
    up.pipe(res);
    up.on('error', () => res.destroy());
  });
  upstream.on('error', (e) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 502, message: `sandbox port ${port} did not answer: ${e.message}` }));
  });
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}
