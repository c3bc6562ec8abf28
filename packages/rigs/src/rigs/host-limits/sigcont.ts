import { readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { runChecked } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import { elapsedMs } from '../../lib/measure/timing.ts';

/**
 * sigcont-resume: a `cat` child is stopped with SIGSTOP (and confirmed stopped by the kernel), then the clock runs
 * from just before SIGCONT until a byte written to its stdin comes back on its stdout.
 */
export async function measureSigcontResume(ctx: RigContext, count: number, warmup: number): Promise<void> {
  const child = ctx.spawn(['cat'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start cat');
  const stdin = child.stdin as Writable;
  const stdout = child.stdout as Readable;
  // If cat dies, the next write fails with EPIPE: the pending answer then rejects on 'close' instead.
  stdin.on('error', () => {});
  await roundTrip(stdin, stdout); // cat is up and answering before the first stop

  await ctx.repeat({ phase: 'sigcont-resume', warmup, count, series: ctx.series('sigcont-resume') }, async () => {
    process.kill(pid, 'SIGSTOP');
    await untilStopped(ctx, pid);
    const answered = nextByte(stdout);
    const t0 = performance.now();
    process.kill(pid, 'SIGCONT');
    stdin.write('x');
    await answered;
    return elapsedMs(t0);
  });
  stdin.end();
}

function nextByte(stdout: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = () => {
      stdout.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      stdout.off('data', onData);
      reject(new Error('cat closed its stdout'));
    };
    stdout.once('data', onData);
    stdout.once('close', onClose);
  });
}

async function roundTrip(stdin: Writable, stdout: Readable): Promise<void> {
  const answered = nextByte(stdout);
  stdin.write('x');
  await answered;
}

/** Waits until the kernel reports the process stopped (state T), so SIGCONT always finds it stopped. */
async function untilStopped(ctx: RigContext, pid: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if ((await processState(ctx, pid)).startsWith('T')) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`pid ${pid} did not stop after SIGSTOP`);
}

async function processState(ctx: RigContext, pid: number): Promise<string> {
  if (ctx.platform === 'linux') {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  }
  return (await runChecked(ctx.runner, ['ps', '-o', 'state=', '-p', String(pid)])).stdout.trim();
}
