/**
 * `coppice pool ...` end to end: the real CLI (`node bin/coppice.js pool ...`, one process per command, as an
 * operator runs it) on real 128 MiB guests, two-tier with one entry per tier: at most three VMs at a time.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shmFiles, testGuest } from '../hypervisor/helpers.ts';

const image = await testGuest(128);
const hasPython = await stat('/usr/bin/python3').then(
  () => true,
  () => false,
);
const BIN = fileURLToPath(new URL('../../bin/coppice.js', import.meta.url));
const REAPER = fileURLToPath(new URL('./cli-reaper.py', import.meta.url));
const TEMPLATE = 'cpt-cli';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}
interface Listed {
  template: string;
  mode: string;
  hasTemplateCheckpoint: boolean;
  entries: { id: string; tier: string; status: string; pid?: number }[];
}

let stateDir: string;
let runRoot: string;
// Every command runs under one python subreaper (see cli-reaper.py): VMs outlive the CLI process that started them.
let reaper: ReturnType<typeof spawn> | undefined;
let results: AsyncIterator<string>;

async function pool(...args: string[]): Promise<Ran> {
  const env = { ...process.env, COPPICE_POOL_STATE_DIR: stateDir, COPPICE_RUN_DIR: runRoot };
  reaper!.stdin!.write(`${JSON.stringify({ argv: [process.execPath, BIN, 'pool', ...args], env })}\n`);
  const next = await results.next();
  if (next.done) throw new Error('the CLI reaper exited');
  return JSON.parse(next.value) as Ran;
}

async function list(): Promise<Listed> {
  const r = await pool('list', '--json');
  expect(r.code, r.stderr).toBe(0);
  const rows = JSON.parse(r.stdout) as Listed[];
  return rows.find((x) => x.template === TEMPLATE)!;
}

/** A process that is gone or a zombie (killed, not reaped yet) runs no VM. */
async function gone(pid: number): Promise<boolean> {
  const s = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return s === '' || s.slice(s.lastIndexOf(')') + 2).startsWith('Z');
}

async function processState(pid: number): Promise<string> {
  const s = await readFile(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2)[0]!;
}

/** Everything the pool keeps: the state folder's files and the VM run folders. */
async function footprint(): Promise<string> {
  const files = async (d: string): Promise<string[]> =>
    (await readdir(d, { recursive: true }).catch(() => [] as string[])).filter((f) => !f.endsWith('.lock')).sort();
  const state = await readFile(join(stateDir, `${TEMPLATE}.json`), 'utf8').catch(() => '');
  return JSON.stringify({ state: await files(stateDir), run: await files(runRoot), json: state });
}

describe.skipIf(!image || !hasPython)('coppice pool (the CLI, end to end)', () => {
  beforeAll(async () => {
    stateDir = await mkdtemp('/tmp/cpt-cli-');
    runRoot = await mkdtemp('/run/cpt-cli-');
    reaper = spawn('python3', [REAPER], { stdio: ['pipe', 'pipe', 'inherit'] });
    results = createInterface({ input: reaper.stdout! })[Symbol.asyncIterator]();
  });

  afterAll(async () => {
    if (reaper) {
      await pool('drain', TEMPLATE).catch(() => undefined);
      reaper.stdin!.end();
      await new Promise((r) => reaper!.once('exit', r));
    }
    await rm(stateDir, { recursive: true, force: true });
    await rm(runRoot, { recursive: true, force: true });
    expect(await shmFiles(TEMPLATE)).toEqual([]);
  });

  it('init, warm, list, checkout, return (waits for the refill), bad input, a corrupt checkpoint, --no-refill, a reboot, drain', async () => {
    // init: the template's checkpoint (one boot), recorded in templates.json.
    const init = await pool(
      'init',
      '--template',
      TEMPLATE,
      '--memory',
      '128',
      '--mode',
      'two-tier',
      '--hot',
      '1',
      '--durable',
      '1',
    );
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/template cpt-cli: two-tier, 128 MiB/);

    const warm = await pool('warm', TEMPLATE, '--count', '1');
    expect(warm.code, warm.stderr).toBe(0);
    let now = await list();
    expect(now.hasTemplateCheckpoint).toBe(true);
    expect(now.entries.map((e) => [e.tier, e.status]).sort()).toEqual([
      ['durable', 'idle'],
      ['hot', 'idle'],
    ]);
    const hot = now.entries.find((e) => e.tier === 'hot')!;
    expect(await processState(hot.pid!)).toBe('T'); // a hot entry waits SIGSTOPped, outliving the CLI

    // Bad input: exit 2, the reason, nothing changed (state file, checkpoint files, VM folders).
    const before = await footprint();
    const bad: [string[], RegExp][] = [
      [['warm', 'nosuch', '--count', '1'], /unknown template "nosuch" \(known: cpt-cli\)/],
      [['warm', TEMPLATE, '--count', '999'], /count 999 out of range 0-256/],
      [['warm', TEMPLATE, '--count=-1'], /--count must be a whole number, got "-1"/],
      [['warm', TEMPLATE, '--count', '-1'], /Option '--count' argument is ambiguous/],
      [['warm', TEMPLATE], /--count is required/],
      [['return', 'cpt-cli-00000000'], /"cpt-cli-00000000" is not an entry of pool "cpt-cli"/],
      [['return', 'someone-else-1a2b3c4d'], /is not the id of an entry of any pool/],
      [['return', hot.id], /is not checked out \(it is idle\)/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ];
    for (const [args, message] of bad) {
      const r = await pool(...args);
      expect([r.code, r.stderr], args.join(' ')).toEqual([2, expect.stringMatching(message)]);
    }
    expect(await footprint()).toBe(before);
    expect(await processState(hot.pid!)).toBe('T');

    // checkout: the hot entry, running, JSON on stdout.
    const out = await pool('checkout', TEMPLATE);
    expect(out.code, out.stderr).toBe(0);
    const sandbox = JSON.parse(out.stdout) as { id: string; pid: number; source: string; readyMs: number };
    expect([sandbox.id, sandbox.pid, sandbox.source]).toEqual([hot.id, hot.pid, 'hot']);
    expect(sandbox.readyMs).toBeGreaterThan(0);
    expect(await processState(sandbox.pid)).not.toBe('T');
    now = await list();
    expect(now.entries.find((e) => e.id === sandbox.id)!.status).toBe('checked-out');

    // return: the VM is destroyed, and the command exits only once the refill is done and recorded.
    const ret = await pool('return', sandbox.id);
    expect(ret.code, ret.stderr).toBe(0);
    expect(ret.stdout).toMatch(/returned cpt-cli-[0-9a-f]{8}; refilled: 1 hot, 1 durable idle/);
    expect(await gone(sandbox.pid)).toBe(true);
    now = await list();
    expect(now.entries.map((e) => [e.tier, e.status]).sort()).toEqual([
      ['durable', 'idle'],
      ['hot', 'idle'],
    ]);
    const refilled = now.entries.find((e) => e.tier === 'hot')!;
    expect(await processState(refilled.pid!)).toBe('T');

    // A corrupt durable checkpoint: the hot entry goes out first, then the durable one fails clearly (exit 1), its
    // files are removed, no VM is left behind, and the sandbox already out is untouched.
    const first = JSON.parse((await pool('checkout', TEMPLATE)).stdout) as { id: string; pid: number };
    const durable = now.entries.find((e) => e.tier === 'durable')!;
    await writeFile(join(stateDir, TEMPLATE, `${durable.id}.state`), 'not a migration stream');
    const corrupt = await pool('checkout', TEMPLATE);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(
      new RegExp(`restore of checkpoint .*${durable.id}\\.state failed: .*load of migration failed`),
    );
    now = await list();
    expect(now.entries.map((e) => [e.id, e.status])).toEqual([[first.id, 'checked-out']]);
    expect((await readdir(join(stateDir, TEMPLATE))).filter((f) => f.startsWith(durable.id))).toEqual([]);
    expect(await readdir(join(runRoot, TEMPLATE))).toEqual([first.id]);

    // --no-refill: returned, nothing started.
    const noRefill = await pool('return', first.id, '--no-refill');
    expect(noRefill.code, noRefill.stderr).toBe(0);
    expect(noRefill.stdout).toBe(`returned ${first.id}; not refilled\n`);
    expect(await gone(first.pid)).toBe(true);
    expect((await list()).entries).toEqual([]);

    // A reboot: VMs gone, tmpfs empty. The next command says what it repaired; the durable entry and the template
    // checkpoint are back without a boot, the hot entry (its VM died) is dropped.
    expect((await pool('warm', TEMPLATE, '--count', '1')).code).toBe(0);
    now = await list();
    const doomed = now.entries.find((e) => e.tier === 'hot')!;
    const kept = now.entries.find((e) => e.tier === 'durable')!;
    process.kill(doomed.pid!, 'SIGKILL');
    for (const f of await shmFiles(TEMPLATE)) await rm(join('/dev/shm', f));
    await rm(join(runRoot, TEMPLATE), { recursive: true, force: true });
    const afterReboot = await pool('list', '--json');
    expect(afterReboot.code, afterReboot.stderr).toBe(0);
    expect(afterReboot.stderr).toMatch(
      /template checkpoint memory made again from disk .*dropped cpt-cli-[0-9a-f]{8} \(VM or checkpoint gone\)/,
    );
    now = (JSON.parse(afterReboot.stdout) as Listed[]).find((x) => x.template === TEMPLATE)!;
    expect([now.hasTemplateCheckpoint, now.entries.map((e) => [e.id, e.tier])]).toEqual([true, [[kept.id, 'durable']]]);
    const restored = await pool('checkout', TEMPLATE);
    expect(restored.code, restored.stderr).toBe(0);
    const back = JSON.parse(restored.stdout) as { id: string; source: string };
    expect([back.id, back.source]).toEqual([kept.id, 'durable']);
    expect((await pool('return', back.id, '--no-refill')).code).toBe(0);

    // drain: the template checkpoint, its memory (disk and tmpfs) and the template's run folder go.
    const drain = await pool('drain', TEMPLATE);
    expect(drain.code, drain.stderr).toBe(0);
    now = await list();
    expect([now.hasTemplateCheckpoint, now.entries]).toEqual([false, []]);
    expect(await readdir(join(stateDir, TEMPLATE))).toEqual([]);
    expect(await readdir(runRoot)).toEqual([]);
    expect(await shmFiles(TEMPLATE)).toEqual([]);
  }, 300_000);
});
