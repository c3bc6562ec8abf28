/**
 * A test backend whose "sandboxes" are HTTP servers on their own loopback address (127.0.0.N), so the gateway's
 * records, timers, limits and proxy are exercised with real traffic and no VM. Each answers on the agent's port
 * with /health and an /echo that streams, and on port 8000 as a user's server would. Tests only.
 */
import { createServer, type Server } from 'node:http';
import type {
  MetricSample,
  RunningSandbox,
  SandboxBackend,
  SandboxSpec,
  TemplateSpec,
} from '../../src/sandboxes/backend.ts';

interface FakeSandbox {
  spec: SandboxSpec;
  address: string;
  servers: Server[];
}

let nextHost = 10;

function serve(address: string, port: number, name: string): Promise<Server> {
  const held: Array<() => void> = [];
  const server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(204).end();
      return;
    }
    if (req.url?.startsWith('/stream')) {
      // The second line is held until /release arrives: a proxy that buffered would never show the first.
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify({ n: 1 })}\n`);
      held.push(() => res.end(`${JSON.stringify({ n: 2 })}\n`));
      return;
    }
    if (req.url === '/release') {
      for (const finish of held.splice(0)) finish();
      res.writeHead(204).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          name,
          port,
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve(server));
  });
}

export class LoopbackBackend implements SandboxBackend {
  readonly live = new Map<string, FakeSandbox>();
  readonly snapshots = new Map<string, SandboxSpec>();
  created = 0;
  failNextCreate: Error | undefined;
  /** Resolves creates only when released (to hold a create midway). */
  gate: Promise<void> | undefined;

  templates(): TemplateSpec[] {
    return [
      { id: 'base', aliases: [], cpuCount: 1, memoryMB: 256, diskMB: 1024, envdVersion: '0.6.4' },
      {
        id: 'code-interpreter-v1',
        aliases: ['code-interpreter'],
        cpuCount: 1,
        memoryMB: 512,
        diskMB: 1024,
        envdVersion: '0.6.4',
      },
    ];
  }

  private async start(spec: SandboxSpec): Promise<RunningSandbox> {
    const address = `127.0.0.${nextHost++}`;
    const servers = [await serve(address, 49983, `envd-${spec.id}`), await serve(address, 8000, `app-${spec.id}`)];
    this.live.set(spec.id, { spec, address, servers });
    return { address };
  }

  async create(spec: SandboxSpec): Promise<RunningSandbox> {
    this.created++;
    if (this.failNextCreate) {
      const e = this.failNextCreate;
      this.failNextCreate = undefined;
      throw e;
    }
    if (this.gate) await this.gate;
    return this.start(spec);
  }

  async kill(id: string): Promise<void> {
    const s = this.live.get(id);
    if (!s) return;
    this.live.delete(id);
    await Promise.all(s.servers.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
  }

  async pause(id: string): Promise<{ location: string }> {
    const s = this.live.get(id);
    if (!s) throw new Error(`no sandbox ${id}`);
    await this.kill(id);
    this.snapshots.set(`snap-${id}`, s.spec);
    return { location: `snap-${id}` };
  }

  async resume(spec: SandboxSpec, location: string): Promise<RunningSandbox> {
    if (!this.snapshots.has(location)) throw new Error(`no snapshot ${location}`);
    const running = await this.start(spec);
    this.snapshots.delete(location);
    return running;
  }

  async discard(location: string): Promise<void> {
    this.snapshots.delete(location);
  }

  async sample(spec: SandboxSpec): Promise<MetricSample> {
    if (!this.live.has(spec.id)) throw new Error(`no sandbox ${spec.id}`);
    return {
      timestampUnix: Math.floor(Date.now() / 1000),
      cpuCount: 1,
      cpuUsedPct: 1.5,
      memUsed: 64 << 20,
      memTotal: 256 << 20,
      memCache: 0,
      diskUsed: 1 << 20,
      diskTotal: 1 << 30,
    };
  }

  async inventory(): Promise<{ running: string[]; snapshots: string[] }> {
    return { running: [...this.live.keys()], snapshots: [...this.snapshots.keys()] };
  }

  async close(): Promise<void> {
    for (const id of [...this.live.keys()]) await this.kill(id);
  }
}
