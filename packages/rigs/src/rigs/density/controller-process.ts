/**
 * The rig's side of pool-controller.ts: starts it as a process of its own (bundled into one plain JavaScript file, or
 * through the tsx loader the way `coppice pool` runs today) and talks to it one line at a time.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { build, stop } from 'esbuild';
import type { RigContext } from '../../harness/rig-context.ts';
import type { ControllerArgs } from './pool-controller.ts';
import { childrenOf, commOf } from './kernel-memory.ts';

export type ControllerLoader = 'bundled' | 'tsx';

const controllerSource = fileURLToPath(new URL('./pool-controller.ts', import.meta.url));

/** Bundles pool-controller.ts and what it imports from @coppice/runtime into one ESM file for plain `node`. */
export async function bundleController(outDir: string): Promise<string> {
  const outfile = join(outDir, 'pool-controller.mjs');
  try {
    await build({
      entryPoints: [controllerSource],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      logLevel: 'error',
    });
  } finally {
    await stop(); // esbuild's service process would otherwise live as long as the rig
  }
  return outfile;
}

type Message = { event: string } & Record<string, unknown>;

export class ControllerProcess {
  private readonly waiting: { resolve: (m: Message) => void; reject: (e: Error) => void }[] = [];
  private exited: Error | undefined;
  private stderrTail = '';
  onProgress: ((done: number) => void) | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly loader: ControllerLoader,
  ) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => (this.stderrTail = (this.stderrTail + d).slice(-2000)));
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    child.once('exit', (code, signal) => {
      this.exited = new Error(
        `pool controller (${loader}) exited (${signal ?? `status ${code}`})${this.stderrTail ? `: ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
      );
      for (const w of this.waiting.splice(0)) w.reject(this.exited);
    });
  }

  /** Starts the controller and waits until it has opened the pool. */
  static async start(
    ctx: Pick<RigContext, 'spawn'>,
    loader: ControllerLoader,
    args: ControllerArgs,
    bundle?: string,
  ): Promise<ControllerProcess> {
    const json = JSON.stringify(args);
    let argv: string[];
    if (loader === 'bundled') {
      if (!bundle) throw new Error('the bundled controller needs bundleController() first');
      argv = [process.execPath, bundle, json];
    } else {
      argv = [process.execPath, '--import', import.meta.resolve('tsx'), controllerSource, json];
    }
    const c = new ControllerProcess(ctx.spawn(argv, { stdio: ['pipe', 'pipe', 'pipe'] }), loader);
    try {
      await c.next(120_000);
    } catch (e) {
      await c.kill();
      throw e;
    }
    return c;
  }

  get pid(): number {
    return this.child.pid!;
  }

  private onLine(line: string): void {
    let m: Message;
    try {
      m = JSON.parse(line) as Message;
    } catch {
      return; // not ours (a stray print)
    }
    if (m.event === 'progress') return this.onProgress?.(Number(m.done));
    const w = this.waiting.shift();
    if (!w) return;
    if (m.event === 'error') w.reject(new Error(`pool controller: ${String(m.message)}`));
    else w.resolve(m);
  }

  private next(timeoutMs: number): Promise<Message> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(entry), 1);
        reject(new Error(`pool controller (${this.loader}) did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const entry = {
        resolve: (m: Message) => (clearTimeout(timer), resolve(m)),
        reject: (e: Error) => (clearTimeout(timer), reject(e)),
      };
      this.waiting.push(entry);
    });
  }

  private request(command: string, timeoutMs: number): Promise<Message> {
    const answer = this.next(timeoutMs);
    this.child.stdin!.write(`${command}\n`);
    return answer;
  }

  /** Fills the pool with n hot entries; resolves with the time it took and the VMs' pids. */
  async warm(n: number): Promise<{ ms: number; pids: number[] }> {
    const m = await this.request(`warm ${n}`, 60_000 + n * 30_000);
    return { ms: Number(m.ms), pids: m.pids as number[] };
  }

  /** The controller's process.memoryUsage(). */
  async usage(): Promise<NodeJS.MemoryUsage> {
    const { event: _event, ...u } = await this.request('usage', 10_000);
    return u as unknown as NodeJS.MemoryUsage;
  }

  async drain(): Promise<number> {
    return Number((await this.request('drain', 120_000)).n);
  }

  /** The controller's own helper processes (tsx's esbuild service), not its VMs. */
  async helperPids(vmPids: readonly number[]): Promise<number[]> {
    const vms = new Set(vmPids);
    const out: number[] = [];
    for (const pid of await childrenOf(this.pid)) {
      if (vms.has(pid) || (await commOf(pid))?.startsWith('qemu-system')) continue;
      out.push(pid);
    }
    return out;
  }

  /** Ends the session: the controller closes the pool and exits. */
  async close(timeoutMs = 30_000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await gone;
    clearTimeout(timer);
  }

  /** For cleanup after a failure: SIGKILL, then wait for the exit. Its VMs are left to the pool's reconcile. */
  async kill(): Promise<void> {
    if (this.exited || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await gone;
  }
}
