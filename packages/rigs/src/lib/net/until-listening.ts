/**
 * Waiting until a server started inside a sandbox or an endpoint pair's stack listens on its TCP port: polled every
 * 25 ms for at most 5 s, stopped early when the rig is aborted.
 */
import type { RigContext } from '../../harness/rig-context.ts';

/** Waits until a TCP port listens inside a sandbox (FreeBSD: sockstat(1) of either family lists it after its header). */
export async function untilListening(ctx: RigContext, exec: string[], port: number): Promise<void> {
  if (ctx.platform !== 'freebsd') return untilListeningLinux(ctx, exec, port);
  await poll(ctx, port, async () => {
    const s = await ctx.runner.run([...exec, 'sockstat', '-l', '-P', 'tcp', '-p', String(port)]);
    return s.code === 0 && s.stdout.trim().split('\n').length > 1;
  });
}

/** Waits until a TCP port listens inside a namespace (ss(8) lists it). */
export async function untilListeningLinux(ctx: RigContext, exec: string[], port: number): Promise<void> {
  await poll(ctx, port, async () => {
    const ss = await ctx.runner.run([...exec, 'ss', '-Htln', `sport = :${port}`]);
    return ss.code === 0 && ss.stdout.trim().length > 0;
  });
}

/** Waits until an IPv4 TCP port listens inside a jail (sockstat lists listening sockets after its header line). */
export async function untilListeningFreeBsdInet4(ctx: RigContext, exec: string[], port: number): Promise<void> {
  await poll(ctx, port, async () => {
    const s = await ctx.runner.run([...exec, 'sockstat', '-4', '-l', '-P', 'tcp', '-p', String(port)]);
    return s.code === 0 && s.stdout.trim().split('\n').length > 1;
  });
}

async function poll(ctx: RigContext, port: number, listens: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    ctx.signal.throwIfAborted();
    if (await listens()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on TCP port ${port} after 5 s`);
}
