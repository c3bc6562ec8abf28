/**
 * `coppice net <command>`: operator commands for cubenet. Thin: parse, call the runtime, print (text or --json).
 * Each invocation takes the prefix's controller lock, reconciles (removing what a crashed run left) and exits.
 */
import { parseArgs } from 'node:util';
import { NetPrerequisiteError, type Cubenet, type Sandbox } from '../net/cubenet.ts';
import type { CommandRunner } from '../host/command-runner.ts';
import { openCubenet, type CubenetPlatform } from '../net/open.ts';
import { DEFAULT_NET_CONFIG } from '../net/types.ts';
import { NetInputError, parseForwardSpec } from '../net/validate.ts';

const USAGE = `usage: coppice net <command> [options]
  init                                 create the bridge and the firewall table (idempotent)
  create [--kind isolated|tap] [policy options] [--forward [tcp|udp:]HOST:SANDBOX]...
  policy <id> [policy options]         replace the sandbox's whole policy
  forward <id> add|remove [tcp|udp:]HOST:SANDBOX
  rate-limit <id> MBIT|off             limit what the sandbox sends to MBIT Mbit/s (1-2000), or remove the limit
  release <id>
  list
  audit                                compare the state with the kernel (exit 1 on leaks)
  teardown                             remove every sandbox, endpoint, the bridge and the table of the prefix
policy options: --allow ADDR/CIDR... --deny ADDR/CIDR... --dns ADDR... --internet | --policy JSON
common: --json --prefix P (${DEFAULT_NET_CONFIG.prefix}) --state-dir DIR (${DEFAULT_NET_CONFIG.stateDir})
        --ipv4 CIDR (${DEFAULT_NET_CONFIG.ipv4Subnet}) --ipv6 CIDR (${DEFAULT_NET_CONFIG.ipv6Subnet})
        --no-rate-limits (no tc/dummynet: init does not check for them, rate-limit refuses)
FreeBSD: --egress-interface IF (NAT for egress), --max-sandboxes N (checked against pf's limits)`;

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  prefix: { type: 'string' },
  'state-dir': { type: 'string' },
  ipv4: { type: 'string' },
  ipv6: { type: 'string' },
  kind: { type: 'string' },
  allow: { type: 'string', multiple: true },
  deny: { type: 'string', multiple: true },
  dns: { type: 'string', multiple: true },
  internet: { type: 'boolean' },
  policy: { type: 'string' },
  forward: { type: 'string', multiple: true },
  'no-rate-limits': { type: 'boolean' },
  'egress-interface': { type: 'string' },
  'max-sandboxes': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function policyFrom(v: Values): unknown {
  if (v.policy !== undefined) {
    if (v.allow || v.deny || v.dns || v.internet)
      throw new NetInputError('policy', 'give either --policy JSON or --allow/--deny/--dns/--internet, not both');
    try {
      return JSON.parse(v.policy);
    } catch {
      throw new NetInputError('policy', '--policy is not valid JSON');
    }
  }
  return {
    allowOut: v.allow ?? [],
    denyOut: v.deny ?? [],
    dnsAllow: v.dns ?? [],
    allowInternetAccess: v.internet ?? false,
  };
}

function describe(s: Sandbox): string {
  const fwd = s.forwards.map((f) => `${f.protocol}:${f.hostPort}->${f.sandboxPort}`).join(',') || '-';
  const p = s.policy;
  const rate = s.rateLimit ? `  egress<=${s.rateLimit.egressMbit}Mbit/s` : '';
  return `${s.id}  ${s.addresses.ipv4}  ${s.addresses.ipv6}  ${s.endpoint.kind}:${s.endpoint.hostInterface}  allow=${p.allowOut.length} deny=${p.denyOut.length} dns=${p.dnsAllow.length} internet=${p.allowInternetAccess ? 'on' : 'off'}  forwards=${fwd}${rate}`;
}

/** What the CLI talks to; tests substitute a model host (the FreeBSD host model) and its platform. */
export interface NetCliHost {
  runner?: CommandRunner;
  platform?: CubenetPlatform;
  /** Folder of the controller locks and host-wide records (default /run/coppice/net). */
  lockDir?: string;
}

export async function main(argv: string[], cliHost: NetCliHost = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    console.error(`coppice net: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const [command, ...args] = positionals;
  if (v.help || !command) {
    console.log(USAGE);
    return command || v.help ? 0 : 2;
  }
  const print = (json: unknown, text: string) => console.log(v.json ? JSON.stringify(json, null, 2) : text);
  let net: Cubenet | undefined;
  try {
    const commands: Record<string, () => Promise<number>> = {
      init: async () => {
        await net!.init();
        print(
          { ok: true, bridge: net!.bridge, subnets: net!.subnets, reconcile: net!.lastReconcile },
          `cubenet ${net!.prefix} ready: bridge ${net!.bridge}, ${net!.subnets.ipv4}, ${net!.subnets.ipv6}`,
        );
        return 0;
      },
      create: async () => {
        const kind = (v.kind ?? 'isolated') as 'isolated' | 'tap';
        const forwards = (v.forward ?? []).map(parseForwardSpec);
        const s = await net!.checkout({ kind, policy: policyFrom(v), forwards });
        print(s, describe(s));
        return 0;
      },
      policy: async () => {
        const s = await net!.setPolicy(args[0], policyFrom(v));
        print(s, describe(s));
        return 0;
      },
      forward: async () => {
        const [id, op, spec] = args;
        if (op !== 'add' && op !== 'remove')
          throw new NetInputError('forward operation', `expected add or remove, got ${JSON.stringify(op ?? '')}`);
        const f = parseForwardSpec(spec);
        const s = op === 'add' ? await net!.addForward(id, f) : await net!.removeForward(id, f);
        print(s, describe(s));
        return 0;
      },
      'rate-limit': async () => {
        const [id, rate] = args;
        let s: Sandbox;
        if (rate === 'off') s = await net!.clearRateLimit(id);
        else {
          if (rate === undefined || !/^\d{1,5}$/.test(rate))
            throw new NetInputError(
              'rate limit',
              `expected a whole number of Mbit/s or "off", got ${JSON.stringify(rate ?? '')}`,
            );
          s = await net!.setRateLimit(id, { egressMbit: Number(rate) });
        }
        print(s, describe(s));
        return 0;
      },
      release: async () => {
        await net!.release(args[0]);
        print({ released: args[0] }, `released ${args[0]}`);
        return 0;
      },
      list: async () => {
        const all = net!.list();
        print(all, all.map(describe).join('\n') || '(no sandboxes)');
        return 0;
      },
      audit: async () => {
        const report = await net!.audit();
        const leaks = Object.entries(report.leaks)
          .filter(([, l]) => l?.length)
          .map(([k, l]) => `${k}: ${l!.join(', ')}`);
        const missing = Object.entries(report.missing)
          .filter(([, l]) => l?.length)
          .map(([k, l]) => `missing ${k}: ${l!.join(', ')}`);
        print(
          report,
          report.ok
            ? `ok: ${report.believed.sandboxes} sandboxes, kernel agrees (${report.kernel.states} states)`
            : [...leaks, ...missing].join('\n'),
        );
        return report.ok ? 0 : 1;
      },
      teardown: async () => {
        await net!.teardown();
        print({ ok: true }, `removed everything of ${net!.prefix}`);
        return 0;
      },
    };
    const run = commands[command];
    if (!run) {
      console.error(`coppice net: unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
    }
    const maxSandboxes = v['max-sandboxes'];
    if (maxSandboxes !== undefined && !/^[1-9]\d{0,5}$/.test(maxSandboxes))
      throw new NetInputError('max-sandboxes', `expected a positive whole number, got ${JSON.stringify(maxSandboxes)}`);
    const { lockDir, ...host } = cliHost;
    net = await openCubenet({
      ...host,
      rateLimits: !v['no-rate-limits'],
      ...(v['egress-interface'] ? { egressInterface: v['egress-interface'] } : {}),
      ...(maxSandboxes ? { maxSandboxes: Number(maxSandboxes) } : {}),
      config: {
        ...(v.prefix ? { prefix: v.prefix } : {}),
        ...(v['state-dir'] ? { stateDir: v['state-dir'] } : {}),
        ...(v.ipv4 ? { ipv4Subnet: v.ipv4 } : {}),
        ...(v.ipv6 ? { ipv6Subnet: v.ipv6 } : {}),
        ...(lockDir ? { lockDir } : {}),
      },
    });
    return await run();
  } catch (e) {
    const error = e as Error;
    if (v.json) console.log(JSON.stringify({ error: error.name, message: error.message }));
    console.error(`coppice net ${command}: ${error.message}`);
    return error instanceof NetInputError || error instanceof NetPrerequisiteError ? 2 : 1;
  } finally {
    await net?.close();
  }
}
