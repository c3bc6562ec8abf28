/**
 * A CommandRunner that runs argv lists in a small long-lived child process instead of forking the controller itself.
 * A fork copies the parent's page tables: from a controller holding a few hundred MB, one spawn stalls its event loop
 * for 13–70 ms on a 2-vCPU VM, and the background state kill of one release then lands inside the next release. The
 * helper (spawner.mjs) runs only the programs it was started for, argv only, no shell, one at a time and at a lower
 * CPU priority (it serves background work). If it dies, the next command starts a new one. No stdin input and no
 * timeout (the commands it serves are short and read nothing).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CommandOptions, CommandResult, CommandRunner } from './command-runner.ts';

const SPAWNER = fileURLToPath(new URL('./spawner.mjs', import.meta.url));

interface Waiting {
  argv: readonly string[];
  resolve: (r: CommandResult) => void;
  reject: (e: Error) => void;
}

export class HelperRunner implements CommandRunner {
  private child?: ChildProcessWithoutNullStreams;
  private seq = 0;
  private readonly waiting = new Map<number, Waiting>();

  constructor(private readonly programs: readonly string[]) {}

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn(process.execPath, [SPAWNER, ...this.programs], { stdio: ['pipe', 'pipe', 'pipe'] });
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const reply = JSON.parse(buffer.slice(0, nl)) as { id: number; code: number; stdout: string; stderr: string };
        buffer = buffer.slice(nl + 1);
        const w = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        w?.resolve({ argv: w.argv, code: reply.code, stdout: reply.stdout, stderr: reply.stderr });
      }
    });
    child.stderr.resume();
    child.stdin.on('error', () => undefined);
    const fail = (why: string) => {
      if (this.child === child) this.child = undefined;
      for (const [id, w] of this.waiting) {
        this.waiting.delete(id);
        w.reject(new Error(`command helper ${why} while running ${w.argv.join(' ')}`));
      }
    };
    child.on('error', (e) => fail(`could not run: ${e.message}`));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? code})`));
    this.child = child;
    return child;
  }

  run(argv: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
    if (options.input !== undefined || options.env || options.cwd || options.timeoutMs) {
      return Promise.reject(new Error('HelperRunner takes argv only (no input, env, cwd or timeout)'));
    }
    if (!this.programs.includes(argv[0] ?? ''))
      return Promise.reject(new Error(`HelperRunner does not run ${argv[0]}`));
    const child = this.child ?? this.start();
    const id = this.seq++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { argv, resolve, reject });
      child.stdin.write(`${JSON.stringify({ id, argv })}\n`);
    });
  }

  close(): void {
    const child = this.child;
    this.child = undefined;
    child?.stdin.end();
  }
}
