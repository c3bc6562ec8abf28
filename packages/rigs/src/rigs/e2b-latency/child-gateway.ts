/** Starts gateway-process.ts as a child of the rig (tracked by the harness) and waits for its first line. */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RigContext } from '../../harness/rig-context.ts';
import type { RigLayout } from './layout.ts';

export interface ChildGateway {
  child: ChildProcess;
  port: number;
  reconciled: { adopted: string[]; rolledBack: string[]; lost: string[]; orphansKilled: string[] };
  exited: Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./gateway-process.ts', import.meta.url));

export async function startChildGateway(
  ctx: RigContext,
  layout: RigLayout,
  timeoutMs = 600_000,
): Promise<ChildGateway> {
  const child = ctx.spawn([process.execPath, '--import', import.meta.resolve('tsx'), SCRIPT, JSON.stringify(layout)]);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const first = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`gateway child gave no line in ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    );
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`gateway child exited (${code ?? signal}) before listening: ${stderr}`));
    });
  });
  const parsed = JSON.parse(first) as Pick<ChildGateway, 'port' | 'reconciled'>;
  return { child, exited, ...parsed };
}

/** SIGTERM (a clean close) and wait for the exit. */
export async function stopChildGateway(g: ChildGateway): Promise<void> {
  if (g.child.exitCode !== null || g.child.signalCode !== null) return;
  g.child.kill('SIGTERM');
  await g.exited;
}
