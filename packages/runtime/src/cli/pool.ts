/**
 * `coppice pool init | warm <template> --count N | checkout <template> | return <id> | drain <template> | list [--json]`
 * Thin: parse, call the pool, print. State lives in COPPICE_POOL_STATE_DIR (default /var/lib/coppice/pools); each
 * command opens the template's pool (reconciling it), acts, and closes it; VMs outlive the command.
 */
import { parseArgs } from 'node:util';
import { ProcessRunner } from '../host/command-runner.ts';
import { Pool, defaultPoolConfig, PoolInputError, type PoolMode } from '../pool/index.ts';
import type { EntryView, ReconcileReport } from '../pool/pool.ts';
import { findTemplate, loadTemplates, saveTemplate, validateTemplate, type TemplateDef } from '../pool/templates.ts';
import { CubenetNetwork, type EntryNetwork } from '../pool/network.ts';
import { DEFAULT_BHYVE_BOOTROM, type PoolBackend, type PoolBackendHost, poolBackend } from './pool-backend.ts';

const USAGE = `usage: coppice pool <command>
  init [--template NAME] [--memory MiB] [--mode full|prewarm|durable|two-tier] [--hot N] [--durable N]
  warm <template> --count N
  checkout <template>          prints the sandbox as JSON once its guest answered
  return <id> [--no-refill]    waits until the pool has refilled (recorded) before exiting, unless --no-refill
  drain <template>            idle entries, the template checkpoint and the template's run folder
  list [--json]
options: --net (give each entry a cubenet tap endpoint)
backend by platform: QEMU + nftables on Linux; bhyve + pf on FreeBSD, where COPPICE_GUEST_DIR names a directory
holding the guest's disk.img and COPPICE_BHYVE_BOOTROM the UEFI firmware (default ${DEFAULT_BHYVE_BOOTROM})`;

const stateDir = () => process.env.COPPICE_POOL_STATE_DIR ?? '/var/lib/coppice/pools';
const runRoot = () => process.env.COPPICE_RUN_DIR ?? '/run/coppice/vm';

async function openPool(
  backend: PoolBackend,
  t: TemplateDef,
  withNet: boolean,
): Promise<{ pool: Pool; close(): Promise<void> }> {
  let network: EntryNetwork | undefined;
  let closeNet = async () => {};
  if (withNet) {
    const net = await backend.openNetwork();
    await net.init();
    network = new CubenetNetwork(net);
    closeNet = () => net.close();
  }
  const config = {
    ...defaultPoolConfig(t.name, backend.image(t.guestDir, t.name, t.memoryMiB, t.vcpus), t.mode),
    size: { hot: t.hot, durable: t.durable },
    stateDir: stateDir(),
    runRoot: runRoot(),
  };
  const pool = await Pool.open({ config, hypervisor: backend.hypervisor(config.image), network });
  const said = describeReconcile(pool.lastReconcile);
  if (said) console.error(`coppice pool: ${t.name}: ${said}`);
  return {
    pool,
    close: async () => {
      await pool.close();
      await closeNet();
    },
  };
}

/** What opening the pool had to repair (after a crash or a reboot), in one line; empty when nothing. */
function describeReconcile(r: ReconcileReport | undefined): string {
  if (!r) return '';
  const parts: string[] = [];
  if (r.template === 'revived')
    parts.push('template checkpoint memory made again from disk (tmpfs was empty: reboot?)');
  if (r.template === 'lost') parts.push('template checkpoint files missing: the next warm boots the template again');
  if (r.revivedFiles.length) parts.push(`${r.revivedFiles.length} checkpoint memory file(s) made again from disk`);
  if (r.adopted.length) parts.push(`adopted ${r.adopted.length} running VM(s)`);
  if (r.dropped.length) parts.push(`dropped ${r.dropped.join(', ')} (VM or checkpoint gone)`);
  if (r.killedOrphanPids.length) parts.push(`killed unrecorded VM pid(s) ${r.killedOrphanPids.join(', ')}`);
  if (r.releasedLeases.length) parts.push(`released ${r.releasedLeases.length} network lease(s)`);
  // Adopting running VMs is the normal case for every command after the first: say it only with something else.
  return parts.length === 1 && r.adopted.length ? '' : parts.join('; ');
}

/** Opens the template's pool, runs `use`, and closes the pool (and its network) whatever happens. */
async function withPool(
  backend: PoolBackend,
  t: TemplateDef,
  withNet: boolean,
  use: (pool: Pool) => Promise<void>,
): Promise<void> {
  const { pool, close } = await openPool(backend, t, withNet);
  try {
    await use(pool);
  } finally {
    await close();
  }
}

function count(value: string | undefined, name: string): number {
  if (value === undefined) throw new PoolInputError(`--${name} is required`);
  if (!/^\d+$/.test(value)) throw new PoolInputError(`--${name} must be a whole number, got "${value}"`);
  return Number(value);
}

/** What the CLI runs on; tests substitute the FreeBSD host model and its platform. */
export type PoolCliHost = Partial<PoolBackendHost>;

export async function main(argv: string[], cliHost: PoolCliHost = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        count: { type: 'string' },
        json: { type: 'boolean' },
        net: { type: 'boolean' },
        'no-refill': { type: 'boolean' },
        template: { type: 'string' },
        memory: { type: 'string' },
        mode: { type: 'string' },
        hot: { type: 'string' },
        durable: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    console.error(`coppice pool: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values: o, positionals } = parsed;
  const [cmd, arg] = positionals;
  if (o.help || !cmd) {
    console.log(USAGE);
    return cmd || o.help ? 0 : 2;
  }
  const withNet = Boolean(o.net);
  const backend = poolBackend({ ...cliHost, runner: cliHost.runner ?? new ProcessRunner() });
  try {
    switch (cmd) {
      case 'init': {
        const guestDir = await backend.locateGuest();
        const t = validateTemplate({
          name: o.template ?? 'debian-256',
          memoryMiB: o.memory ? count(o.memory, 'memory') : 256,
          vcpus: 1,
          mode: (o.mode ?? 'two-tier') as PoolMode,
          hot: o.hot ? count(o.hot, 'hot') : 2,
          durable: o.durable ? count(o.durable, 'durable') : 2,
          guestDir,
        });
        await saveTemplate(stateDir(), t);
        await withPool(backend, t, withNet, async (pool) => {
          if (t.mode !== 'full') await pool.init();
        });
        console.log(`template ${t.name}: ${t.mode}, ${t.memoryMiB} MiB, guest ${guestDir}`);
        return 0;
      }
      case 'warm': {
        if (!arg) throw new PoolInputError('warm needs a template');
        const t = await findTemplate(stateDir(), arg);
        const n = count(o.count, 'count');
        await withPool(backend, t, withNet, async (pool) => {
          await pool.warm(n);
        });
        console.log(`${t.name}: ${n} idle per tier`);
        return 0;
      }
      case 'checkout': {
        if (!arg) throw new PoolInputError('checkout needs a template');
        const t = await findTemplate(stateDir(), arg);
        await withPool(backend, t, withNet, async (pool) => {
          const t0 = performance.now();
          const r = await pool.checkout();
          console.log(
            JSON.stringify({
              id: r.id,
              pid: r.vm.pid,
              source: r.source,
              address: r.network?.address,
              readyMs: +(r.readyAt - t0).toFixed(3),
            }),
          );
        });
        return 0;
      }
      case 'return': {
        if (!arg) throw new PoolInputError('return needs an id');
        const tpl = (await loadTemplates(stateDir())).find(
          (t) => arg.startsWith(`${t.name}-`) && /^[0-9a-f]{8}$/.test(arg.slice(t.name.length + 1)),
        );
        if (!tpl) throw new PoolInputError(`"${arg}" is not the id of an entry of any pool`);
        // The refill VM would outlive this process anyway (pool VMs are detached), but not unrecorded: the command
        // waits until the refill is done and in the state file, and says so; --no-refill skips it.
        let refill = '';
        let failed: Error | undefined;
        await withPool(backend, tpl, withNet, async (pool) => {
          await pool.return(arg, { refill: !o['no-refill'] });
          await pool.settle();
          failed = pool.backgroundErrors[0];
          const idle = pool.list().filter((e) => e.status === 'idle');
          refill = o['no-refill']
            ? 'not refilled'
            : `refilled: ${idle.filter((e) => e.tier === 'hot').length} hot, ${idle.filter((e) => e.tier === 'durable').length} durable idle`;
        });
        if (failed) {
          console.error(`coppice pool return: returned ${arg}, but the refill failed: ${failed.message}`);
          return 1;
        }
        console.log(`returned ${arg}; ${refill}`);
        return 0;
      }
      case 'drain': {
        if (!arg) throw new PoolInputError('drain needs a template');
        const t = await findTemplate(stateDir(), arg);
        await withPool(backend, t, withNet, async (pool) => {
          const n = await pool.drain({ base: true });
          console.log(`${t.name}: drained ${n} idle entries`);
        });
        return 0;
      }
      case 'list': {
        const rows: { template: string; mode: PoolMode; hasTemplateCheckpoint: boolean; entries: EntryView[] }[] = [];
        for (const t of await loadTemplates(stateDir())) {
          await withPool(backend, t, withNet, async (pool) => {
            rows.push({ template: t.name, mode: t.mode, hasTemplateCheckpoint: pool.hasBase, entries: pool.list() });
          });
        }
        if (o.json) console.log(JSON.stringify(rows, null, 1));
        else
          for (const r of rows) {
            console.log(`${r.template} (${r.mode})${r.hasTemplateCheckpoint ? '' : ' [no template checkpoint]'}`);
            for (const e of r.entries)
              console.log(`  ${e.id}  ${e.tier.padEnd(7)} ${e.status.padEnd(11)} ${e.pid ?? ''} ${e.address ?? ''}`);
          }
        return 0;
      }
      default:
        console.error(`coppice pool: unknown command "${cmd}"\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    console.error(`coppice pool ${cmd}: ${(e as Error).message}`);
    return e instanceof PoolInputError ? 2 : 1;
  }
}
