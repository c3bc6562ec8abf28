import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Filesystem } from '../../src/gen/filesystem/filesystem_pb.ts';
import { Process } from '../../src/gen/process/process_pb.ts';
import type { OsEffects } from '../../src/os-effects.ts';
import { createEnvd, type Envd, type EnvdOptions } from '../../src/server.ts';

/** OsEffects that record what /init asked for instead of changing the host. */
export class RecordingEffects implements OsEffects {
  clock: Date[] = [];
  hostnames: string[] = [];
  entropy: Uint8Array[] = [];
  generations: string[] = [];
  failHostname: Error | undefined;
  async setClock(time: Date): Promise<void> {
    this.clock.push(time);
  }
  async setHostname(name: string): Promise<void> {
    if (this.failHostname) throw this.failHostname;
    this.hostnames.push(name);
  }
  async mixEntropy(bytes: Uint8Array): Promise<void> {
    this.entropy.push(bytes);
  }
  async writeGeneration(content: string): Promise<void> {
    this.generations.push(content);
  }
}

export interface TestAgent {
  envd: Envd;
  effects: RecordingEffects;
  baseUrl: string;
  /** A scratch directory the test owns; removed by stop(). */
  dir: string;
  process: Client<typeof Process>;
  filesystem: Client<typeof Filesystem>;
  clients(headers: Record<string, string>): { process: Client<typeof Process>; filesystem: Client<typeof Filesystem> };
  stop(): Promise<void>;
}

/** Starts the agent in this process on a loopback port, acting as root unless told otherwise. */
export async function startTestAgent(options: Partial<EnvdOptions> = {}): Promise<TestAgent> {
  const effects = new RecordingEffects();
  const envd = createEnvd({ defaultUser: 'root', ...options, effects: options.effects ?? effects });
  const address = await envd.listen(0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const dir = await mkdtemp(join(tmpdir(), 'cpenvd-'));
  const clients = (headers: Record<string, string>) => {
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
  };
  const { process, filesystem } = clients({});
  return {
    envd,
    effects,
    baseUrl,
    dir,
    process,
    filesystem,
    clients,
    stop: async () => {
      await envd.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function basicAuth(user: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:`).toString('base64')}` };
}

const run = promisify(execFile);

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  remove(): Promise<void>;
}

/** A throwaway user (name prefixed cpe2e) with a home directory; remove() deletes both. */
export async function createTestUser(): Promise<TestUser> {
  const name = `cpe2e${process.pid % 100000}${Math.floor(Math.random() * 1000)}`;
  const home = `/tmp/${name}-home`;
  await run('useradd', ['--create-home', '--home-dir', home, '--shell', '/bin/bash', '--user-group', name]);
  const uid = Number((await run('id', ['-u', name])).stdout.trim());
  const gid = Number((await run('id', ['-g', name])).stdout.trim());
  return {
    name,
    uid,
    gid,
    home,
    remove: async () => {
      await run('userdel', ['--remove', name]).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
}
