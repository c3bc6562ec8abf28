import { randomFillSync } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runChecked } from '@coppice/runtime';
import type { RigContext } from '../../harness/rig-context.ts';
import { elapsedMs } from '../../lib/measure/timing.ts';

export const CHECKPOINT_BYTES = 256 * 1024 * 1024;
const CHUNK = 8 * 1024 * 1024;

/**
 * checkpoint-write and checkpoint-read: per sample, a new 256 MiB file of random bytes written and fsynced, its
 * cached pages dropped, then read back; the file is removed outside the clock.
 */
export async function measureCheckpointIo(
  ctx: RigContext,
  count: number,
  warmup: number,
  base: { dir: string; described: string },
): Promise<void> {
  const dir = await mkdtemp(join(base.dir, 'cpr-checkpoint-'));
  ctx.defer(() => rm(dir, { recursive: true, force: true }));
  ctx.param('checkpointDir', base.described);
  ctx.param('checkpointFs', await fileSystemType(ctx, dir));
  ctx.param(
    'checkpointRead',
    ctx.platform === 'linux' ? 'page cache dropped per file (posix_fadvise DONTNEED)' : 'O_DIRECT',
  );

  // Random content, so no layer below can compress or deduplicate it away.
  const data = Buffer.allocUnsafe(CHECKPOINT_BYTES);
  for (let off = 0; off < data.length; off += CHUNK) randomFillSync(data, off, Math.min(CHUNK, data.length - off));

  const labels = { size: '256MiB' };
  const writes = ctx.series('checkpoint-write', labels);
  const reads = ctx.series('checkpoint-read', labels);
  const total = warmup + count;
  for (let i = 0; i < total; i++) {
    ctx.signal.throwIfAborted();
    const recording = i >= warmup;
    ctx.progress(
      recording ? 'checkpoint' : 'checkpoint (warm-up)',
      recording ? i - warmup : i,
      recording ? count : warmup,
    );
    const file = join(dir, `checkpoint-${i}.bin`);
    try {
      const w = await timeWrite(file, data);
      if (recording) writes.add(w);
    } catch (e) {
      if (recording) {
        writes.fail(e);
        reads.fail(new Error(`not read: the write failed (${e instanceof Error ? e.message : String(e)})`));
      }
      await rm(file, { force: true });
      continue;
    }
    try {
      await dropCachedPages(ctx, file);
      if (i === warmup) await recordResidency(ctx, file);
      const r = await timeRead(ctx, file);
      if (recording) reads.add(r);
    } catch (e) {
      if (recording) reads.fail(e);
    } finally {
      await rm(file, { force: true });
    }
  }
  ctx.progress('checkpoint', count, count);
}

async function timeWrite(file: string, data: Buffer): Promise<number> {
  const t0 = performance.now();
  const handle = await open(file, 'wx');
  try {
    let off = 0;
    while (off < data.length) off += (await handle.write(data, off, Math.min(CHUNK, data.length - off))).bytesWritten;
    await handle.sync();
  } finally {
    await handle.close();
  }
  return elapsedMs(t0);
}

async function timeRead(ctx: RigContext, file: string): Promise<number> {
  const buffer = Buffer.allocUnsafe(CHUNK);
  const flags = ctx.platform === 'freebsd' ? constants.O_RDONLY | (constants.O_DIRECT ?? 0) : constants.O_RDONLY;
  const t0 = performance.now();
  const handle = await open(file, flags);
  let total = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
  } finally {
    await handle.close();
  }
  const ms = elapsedMs(t0);
  if (total !== CHECKPOINT_BYTES) throw new Error(`read ${total} bytes back, expected ${CHECKPOINT_BYTES}`);
  return ms;
}

/** Linux: GNU dd with iflag=nocache and count=0 asks posix_fadvise(DONTNEED) for the whole file, nothing else. */
async function dropCachedPages(ctx: RigContext, file: string): Promise<void> {
  if (ctx.platform !== 'linux') return;
  await runChecked(ctx.runner, ['dd', `if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
}

/**
 * Evidence that the drop worked: how much of the file is still in the page cache just before the first recorded
 * read (util-linux fincore, when installed).
 */
async function recordResidency(ctx: RigContext, file: string): Promise<void> {
  if (ctx.platform !== 'linux') return;
  const fincore = await ctx.runner
    .run(['fincore', '--bytes', '--noheadings', '--output', 'RES', file])
    .catch(() => undefined);
  const resident = fincore?.code === 0 ? fincore.stdout.trim() : undefined;
  ctx.param(
    'checkpointCachedBytesBeforeRead',
    resident !== undefined && /^\d+$/.test(resident) ? Number(resident) : 'unknown (no fincore)',
  );
}

async function fileSystemType(ctx: RigContext, dir: string): Promise<string> {
  const df = await ctx.runner.run(['df', '-T', dir]);
  const last = df.stdout.trim().split('\n').pop()?.trim().split(/\s+/);
  return df.code === 0 && last && last[1] ? last[1] : 'unknown';
}
