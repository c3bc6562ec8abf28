import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BundledAgent, buildBundle, startBundledAgent } from './helpers/bundled-agent.ts';
import { createTestUser, type TestUser } from './helpers/agent.ts';

/**
 * Random bytes and random JSON at every route of the bundled agent for a few seconds. The values are random but
 * harmless by construction: the agent acts as a throwaway user whose home is the only place relative paths reach,
 * absolute paths are all inside a scratch directory, random strings hold no "/" or ".", commands come from a
 * short list of inert programs, and /init only ever gets bodies its strict schema refuses (so the host's clock and
 * hostname are never touched).
 */
const DURATION_MS = 4000;
const MAX_REQUESTS = 3000;

let agent: BundledAgent;
let user: TestUser;
let scratch: string;

beforeAll(async () => {
  user = await createTestUser();
  scratch = await mkdtemp(join(tmpdir(), 'cpenvd-fuzz-'));
  agent = await startBundledAgent(await buildBundle(), ['--default-user', user.name, '--max-upload-bytes', '65536']);
}, 60_000);
afterAll(async () => {
  await agent?.stop();
  await user?.remove();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

// A small seeded PRNG so a failure can be replayed with the seed the test prints.
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** encodeURIComponent, except that a lone surrogate becomes the invalid UTF-8 bytes ED A0 80. */
function percentEncode(text: string): string {
  return [...text].map((ch) => (/[\uD800-\uDFFF]/.test(ch) ? '%ED%A0%80' : encodeURIComponent(ch))).join('');
}

const RPC_ROUTES = [
  'process.Process/Start',
  'process.Process/Connect',
  'process.Process/List',
  'process.Process/SendInput',
  'process.Process/SendSignal',
  'process.Process/CloseStdin',
  'process.Process/Update',
  'process.Process/StreamInput',
  'filesystem.Filesystem/Stat',
  'filesystem.Filesystem/MakeDir',
  'filesystem.Filesystem/Move',
  'filesystem.Filesystem/ListDir',
  'filesystem.Filesystem/Remove',
  'filesystem.Filesystem/WatchDir',
  'filesystem.Filesystem/CreateWatcher',
  'filesystem.Filesystem/GetWatcherEvents',
  'filesystem.Filesystem/RemoveWatcher',
  'filesystem.Filesystem/Nope',
];
const FIELDS = [
  'process',
  'cmd',
  'args',
  'envs',
  'cwd',
  'pid',
  'tag',
  'selector',
  'stdin',
  'input',
  'signal',
  'pty',
  'size',
  'path',
  'source',
  'destination',
  'depth',
  'recursive',
  'includeEntry',
  'watcherId',
  'event',
];
const SAFE_COMMANDS = ['/bin/true', '/bin/false', '/bin/echo', 'cpe2e-no-such-program'];
const CONTENT_TYPES = [
  'application/json',
  'application/connect+json',
  'application/proto',
  'multipart/form-data; boundary=b',
  'application/octet-stream',
  'text/plain',
  '',
];

describe('fuzzing the bundled agent', () => {
  it(`survives ${DURATION_MS / 1000} s of random requests and keeps answering /health`, async () => {
    const seed = Number(process.env.ENVD_FUZZ_SEED ?? Date.now() % 2 ** 31);
    const rand = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
    const randomText = (): string => {
      const alphabet = 'abcxyz019 _-~é\u0000\ud800\u2028"\\';
      return Array.from({ length: Math.floor(rand() * 12) }, () => pick([...alphabet])).join('');
    };
    const randomPath = (): string => (rand() < 0.5 ? join(scratch, randomText().replace(/[/.]/g, '')) : randomText());
    const randomValue = (key: string, depth: number): unknown => {
      if (key === 'cmd') return pick(SAFE_COMMANDS);
      if (['path', 'source', 'destination', 'cwd'].includes(key)) return randomPath();
      switch (Math.floor(rand() * 8)) {
        case 0:
          return Math.floor(rand() * 2 ** 33) - 2 ** 32;
        case 1:
          return rand() < 0.5;
        case 2:
          return null;
        case 3:
          return randomText();
        case 4:
          return depth > 3
            ? []
            : Array.from({ length: Math.floor(rand() * 3) }, () => randomValue(pick(FIELDS), depth + 1));
        case 5:
          return pick(['SIGNAL_SIGKILL', 'SIGNAL_SIGTERM', 'FILE_TYPE_FILE', 'aGVsbG8=', '!!', '1e400']);
        default:
          return depth > 3 ? {} : randomObject(depth + 1);
      }
    };
    const randomObject = (depth: number): Record<string, unknown> =>
      Object.fromEntries(
        Array.from({ length: Math.floor(rand() * 4) }, () => {
          const k = pick(FIELDS);
          return [k, randomValue(k, depth)];
        }),
      );
    // A well-formed request for the route, one field of it possibly replaced: reaches the handlers, not only the decoders.
    const template = (route: string): Record<string, unknown> => {
      const method = route.split('/').pop() ?? '';
      const selector = { pid: Math.floor(rand() * 64) + 1 };
      const body: Record<string, unknown> =
        method === 'Start'
          ? {
              process: { cmd: pick(SAFE_COMMANDS), args: [randomText()], envs: { A: randomText() } },
              stdin: rand() < 0.5,
            }
          : ['Connect', 'SendSignal', 'SendInput', 'CloseStdin', 'Update'].includes(method)
            ? {
                process: selector,
                signal: pick(['SIGNAL_SIGTERM', 'SIGNAL_SIGKILL', 'SIGNAL_UNSPECIFIED']),
                input: { stdin: 'aGk=' },
              }
            : method === 'Move'
              ? { source: randomPath(), destination: randomPath() }
              : ['GetWatcherEvents', 'RemoveWatcher'].includes(method)
                ? { watcherId: randomText() }
                : {
                    path: randomPath(),
                    depth: Math.floor(rand() * 4),
                    recursive: rand() < 0.5,
                    includeEntry: rand() < 0.5,
                  };
      if (rand() < 0.5) {
        const key = pick(Object.keys(body));
        body[key] = randomValue(key, 1);
      }
      return body;
    };
    const randomBody = (framed: boolean, route: string): Buffer => {
      const kind = rand();
      const payload =
        kind < 0.4
          ? Buffer.from(JSON.stringify(template(route)))
          : kind < 0.6
            ? randomBytes(Math.floor(rand() * 256))
            : Buffer.from(
                kind < 0.7
                  ? JSON.stringify(randomObject(0)).slice(0, Math.floor(rand() * 40))
                  : JSON.stringify(randomObject(0)),
              );
      if (!framed || rand() < 0.2) return payload;
      const head = Buffer.alloc(5);
      head.writeUInt8(rand() < 0.9 ? 0 : Math.floor(rand() * 256), 0);
      head.writeUInt32BE(rand() < 0.85 ? payload.length : Math.floor(rand() * 2 ** 32), 1);
      return Buffer.concat([head, payload]);
    };

    const statuses = new Map<number, number>();
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < DURATION_MS && sent < MAX_REQUESTS) {
      const batch = Array.from({ length: 8 }, async () => {
        const route = rand();
        let url: string;
        let contentType = pick(CONTENT_TYPES);
        if (route < 0.7) {
          url = `/${pick(RPC_ROUTES)}`;
          if (rand() < 0.85)
            contentType = /(Start|Connect|WatchDir)$/.test(url) ? 'application/connect+json' : 'application/json';
        } else if (route < 0.85) {
          url = `/files?path=${percentEncode(randomPath())}${rand() < 0.5 ? '&username=%FF' : ''}`;
        } else if (route < 0.93) {
          url = '/init';
        } else {
          url = pick(['/health', '/', '/files', '/%', '/process.Process/', '//x']);
        }
        const method = rand() < 0.85 ? 'POST' : pick(['GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']);
        let body: Buffer | undefined =
          method === 'GET' || method === 'HEAD' ? undefined : randomBody(contentType.includes('connect+'), url);
        if (url === '/init' && body) body = Buffer.from(JSON.stringify({ [pick(FIELDS)]: randomValue('x', 0) })); // only keys /init refuses
        try {
          const res = await fetch(`${agent.baseUrl}${url}`, {
            method,
            headers: {
              ...(contentType ? { 'content-type': contentType } : {}),
              ...(rand() < 0.1 ? { 'keepalive-ping-interval': '1' } : {}),
            },
            body,
            // Streams (Start, Connect, WatchDir) stay open by design; cut them short to keep the requests flowing.
            signal: AbortSignal.timeout(url.includes('Watch') || url.includes('Connect') ? 300 : 3000),
          });
          await res.arrayBuffer().catch(() => undefined);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        } catch {
          statuses.set(0, (statuses.get(0) ?? 0) + 1); // aborted stream or reset connection: allowed, exiting is not
        }
      });
      await Promise.all(batch);
      sent += batch.length;
      if (sent % 200 === 0) {
        expect(agent.child.exitCode, `agent exited (seed ${seed}): ${agent.output()}`).toBeNull();
        expect((await fetch(`${agent.baseUrl}/health`)).status).toBe(204);
      }
    }
    console.log(`envd fuzz seed ${seed}: ${sent} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(agent.child.exitCode, `agent exited (seed ${seed}): ${agent.output()}`).toBeNull();
    expect((await fetch(`${agent.baseUrl}/health`)).status).toBe(204);
    expect(sent).toBeGreaterThan(100);
    expect(statuses.get(500) ?? 0, `internal errors (seed ${seed}); agent output: ${agent.output()}`).toBe(0);
  }, 60_000);
});
