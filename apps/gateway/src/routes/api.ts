/**
 * The control plane's routes (what `e2b` 2.x and `@e2b/code-interpreter` 2.x call), on Hono. Every route but
 * /health needs `X-API-KEY`; a sandbox of another team answers 404 as if it did not exist.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { teamForKey } from '../auth/api-keys.ts';
import type { RequestLimiter } from '../auth/request-limits.ts';
import { ApiError } from '../errors.ts';
import type { SandboxService } from '../sandboxes/service.ts';
import type { Store } from '../store/store.ts';
import type { SandboxState, Team } from '../store/types.ts';
import {
  connectBody,
  createBody,
  decodeNextToken,
  encodeNextToken,
  listQuery,
  metricsQuery,
  parseMetadataQuery,
  pauseBody,
  resumeBody,
  timeoutBody,
} from './bodies.ts';
import { createdView, detailView, listedView, templateView } from './views.ts';

type Env = { Variables: { team: Team } };

export interface ApiOptions {
  store: Store;
  service: SandboxService;
  limiter: RequestLimiter;
  /** The domain sandboxes' hosts are named under: `<port>-<sandboxID>.<domain>`. */
  domain: string;
  maxBodyBytes: number;
  startedAt: string;
}

function describeZod(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
}

async function jsonBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  const text = await c.req.text();
  let value: unknown;
  if (text.trim() === '') value = undefined;
  else {
    try {
      value = JSON.parse(text);
    } catch {
      throw new ApiError(400, 'request body is not valid JSON');
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError(400, `invalid request body: ${describeZod(parsed.error)}`);
  return parsed.data;
}

function query<T>(c: Context, schema: z.ZodType<T>, arrays: string[] = []): T {
  const raw: Record<string, unknown> = { ...c.req.query() };
  for (const name of arrays) {
    const all = c.req.queries(name);
    if (all) raw[name] = all.flatMap((v) => v.split(',')).filter((v) => v !== '');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ApiError(400, `invalid query: ${describeZod(parsed.error)}`);
  return parsed.data;
}

export function buildApi(opts: ApiOptions): Hono<Env> {
  const { service, limiter, domain } = opts;
  const app = new Hono<Env>();

  app.onError((err, c) => {
    if (err instanceof ApiError) {
      if (err.retryAfterSeconds !== undefined) c.header('Retry-After', String(err.retryAfterSeconds));
      return c.json(err.body(), err.status);
    }
    return c.json({ code: 500, message: `internal error: ${err.message}` }, 500);
  });
  app.notFound((c) => c.json({ code: 404, message: `no route ${c.req.method} ${c.req.path}` }, 404));

  app.get('/health', (c) => c.body(null, 204));

  app.use(
    '*',
    bodyLimit({
      maxSize: opts.maxBodyBytes,
      onError: (c) => c.json({ code: 413, message: `request body larger than ${opts.maxBodyBytes} bytes` }, 413),
    }),
  );
  app.use('*', async (c, next) => {
    const key = c.req.header('x-api-key');
    const team = teamForKey(opts.store, key);
    if (!team)
      throw new ApiError(401, key ? 'invalid or revoked API key' : 'missing API key: send it in the X-API-KEY header');
    const admission = limiter.admit(key!);
    if (!admission.ok) throw new ApiError(429, admission.reason, admission.retryAfterSeconds);
    c.set('team', team);
    try {
      await next();
    } finally {
      admission.release();
    }
  });

  const create = async (c: Context<Env>) => {
    const b = await jsonBody(c, createBody);
    const s = await service.create(c.get('team'), {
      templateId: b.templateID,
      timeoutSeconds: b.timeout,
      metadata: b.metadata ?? {},
      envVars: b.envVars ?? {},
      network: {
        allowInternetAccess: b.allow_internet_access ?? true,
        allowOut: b.network?.allowOut ?? [],
        denyOut: b.network?.denyOut ?? [],
        allowPublicTraffic: b.network?.allowPublicTraffic ?? true,
      },
      autoPause: b.autoPause ?? false,
    });
    return c.json(createdView(s, domain), 201);
  };
  app.post('/sandboxes', create);
  app.post('/v2/sandboxes', create);

  const list = (states: SandboxState[] | undefined) => async (c: Context<Env>) => {
    const q = query(c, listQuery, ['state']);
    let after: { startedAt: number; id: string } | undefined;
    try {
      after = q.nextToken ? decodeNextToken(q.nextToken) : undefined;
    } catch (e) {
      throw new ApiError(400, (e as Error).message);
    }
    const wanted = states ?? (q.state?.length ? (q.state as SandboxState[]) : ['running', 'paused']);
    const rows = service.list(c.get('team'), {
      states: wanted.flatMap((s): SandboxState[] => (s === 'running' ? ['running', 'pausing', 'resuming'] : [s])),
      metadata: parseMetadataQuery(q.metadata),
      templateId: q.template,
      limit: q.limit + 1,
      after,
    });
    const page = rows.slice(0, q.limit);
    if (rows.length > q.limit) {
      const last = page[page.length - 1]!;
      c.header('X-Next-Token', encodeNextToken({ startedAt: last.startedAt, id: last.id }));
    }
    return c.json(page.map(listedView));
  };
  app.get('/v2/sandboxes', list(undefined));
  app.get('/sandboxes', list(['running']));

  app.get('/sandboxes/:id', (c) => c.json(detailView(service.get(c.get('team'), c.req.param('id')), domain)));

  app.delete('/sandboxes/:id', async (c) => {
    await service.kill(c.get('team'), c.req.param('id'));
    return c.body(null, 204);
  });

  app.post('/sandboxes/:id/timeout', async (c) => {
    const b = await jsonBody(c, timeoutBody);
    await service.setTimeout(c.get('team'), c.req.param('id'), b.timeout);
    return c.body(null, 204);
  });

  app.post('/sandboxes/:id/pause', async (c) => {
    const b = await jsonBody(c, pauseBody);
    if (b?.memory === false) throw new ApiError(400, 'filesystem-only pause is not supported: a pause keeps memory');
    await service.pause(c.get('team'), c.req.param('id'));
    return c.body(null, 204);
  });

  const connect = async (c: Context<Env>) => {
    const b = await jsonBody(c, connectBody);
    if (b.memory === false) throw new ApiError(400, 'resume by reboot is not supported: a resume restores memory');
    const { record, resumed } = await service.connect(c.get('team'), c.req.param('id')!, b.timeout ?? undefined);
    return c.json(createdView(record, domain), resumed ? 201 : 200);
  };
  app.post('/sandboxes/:id/connect', connect);
  app.post('/v2/sandboxes/:id/connect', connect);
  app.post('/sandboxes/:id/resume', async (c) => {
    const b = await jsonBody(c, resumeBody);
    const current = service.get(c.get('team'), c.req.param('id'));
    if (current.state !== 'paused') throw new ApiError(409, `sandbox '${current.id}' is not paused`);
    const { record } = await service.connect(c.get('team'), current.id, b.timeout ?? undefined);
    return c.json(createdView(record, domain), 201);
  });

  app.get('/sandboxes/:id/metrics', (c) => {
    const q = query(c, metricsQuery);
    const samples = service.metricsOf(c.get('team'), c.req.param('id'), q.start, q.end);
    return c.json(samples.map((m) => ({ ...m, timestamp: new Date(m.timestampUnix * 1000).toISOString() })));
  });

  app.get('/templates', (c) => c.json(service.templates().map((t) => templateView(t, opts.startedAt))));

  return app;
}
