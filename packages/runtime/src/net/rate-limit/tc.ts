/**
 * The Linux rate limiter. What a sandbox sends arrives on its host-side interface (veth host end, tap) as ingress,
 * and Linux shapes only egress, so the interface's ingress redirects everything (u32 match-all, mirred) to an ifb
 * device whose root qdisc is a token bucket (tbf) at the configured rate. A policer (`police` action) on the ingress
 * would need no ifb, but drops bursts where a shaper queues them, and act_police is not built into every kernel (not
 * into this project's test machines). tc counts the rate on whole frames, Ethernet header included.
 *
 * Names: the ifb of slot N is `<prefix>_rl<N>` (not `<prefix>-…`, which names endpoints).
 */
import { type CommandRunner, CommandError, runChecked } from '../../host/command-runner.ts';
import { parseInterfaceName, parsePrefix } from '../validate.ts';
import type { KernelRateLimit, RateLimit, RateLimiter, RateLimitTarget } from './rate-limit.ts';
import { parseRateLimit } from './rate-limit.ts';

/** How long tbf may send at line rate after an idle spell, as time at the configured rate. */
export const TBF_BURST_MS = 20;
/** Longest a packet may wait in tbf's queue before it is dropped. */
export const TBF_LATENCY_MS = 50;

export class TcRateLimiter implements RateLimiter {
  readonly kind = 'tc' as const;
  readonly inFirewall = false;
  private readonly prefix: string;

  constructor(
    private readonly runner: CommandRunner,
    prefix: string,
  ) {
    this.prefix = parsePrefix(prefix);
  }

  ifbName(slot: number): string {
    return tcIfbName(this.prefix, slot);
  }

  /** Tries the pieces on a scratch pair (ifb, tbf, ingress, u32 + mirred) and removes it: no module can be assumed. */
  async preflight(): Promise<string[]> {
    const probe = `${this.prefix}_rlp`;
    const steps = [
      ['ip', 'link', 'add', `${probe}i`, 'type', 'ifb'],
      ['tc', 'qdisc', 'add', 'dev', `${probe}i`, 'root', ...tbfArgs(100)],
      ['ip', 'link', 'add', `${probe}a`, 'type', 'veth', 'peer', 'name', `${probe}b`],
      ['tc', 'qdisc', 'add', 'dev', `${probe}a`, 'handle', 'ffff:', 'ingress'],
      redirectArgv(`${probe}a`, `${probe}i`),
    ];
    const reasons: string[] = [];
    try {
      for (const argv of steps) {
        const r = await this.runner.run(argv);
        if (r.code === 127) return [`${argv[0]} not found: install iproute2`];
        if (r.code !== 0) {
          reasons.push(
            `the kernel cannot shape a sandbox's egress: \`${argv.join(' ')}\` fails: ${r.stderr.trim().split('\n')[0]}`,
          );
          break;
        }
      }
    } finally {
      for (const link of [`${probe}a`, `${probe}i`]) await this.runner.run(['ip', 'link', 'del', link]);
    }
    return reasons;
  }

  async apply(target: RateLimitTarget, limitInput: RateLimit): Promise<void> {
    const limit = parseRateLimit(limitInput);
    const dev = parseInterfaceName(target.hostInterface);
    const ifb = this.ifbName(target.slot);
    if ((await this.runner.run(['ip', 'link', 'show', 'dev', ifb])).code !== 0) {
      await runChecked(this.runner, ['ip', 'link', 'add', ifb, 'type', 'ifb']);
    }
    await runChecked(this.runner, ['ip', 'link', 'set', ifb, 'up']);
    // replace: a changed rate takes effect on the live qdisc, without a moment unshaped.
    await runChecked(this.runner, ['tc', 'qdisc', 'replace', 'dev', ifb, 'root', ...tbfArgs(limit.egressMbit)]);
    if (await this.redirects(dev, ifb)) return;
    await this.detach(dev);
    await runChecked(this.runner, ['tc', 'qdisc', 'add', 'dev', dev, 'handle', 'ffff:', 'ingress']);
    await runChecked(this.runner, redirectArgv(dev, ifb));
  }

  async clear(target: RateLimitTarget): Promise<void> {
    // Detach first: a redirect to a missing ifb would drop everything the sandbox sends.
    await this.detach(parseInterfaceName(target.hostInterface));
    await this.deleteLink(this.ifbName(target.slot));
  }

  /** Whether DEV's ingress already redirects to IFB. */
  private async redirects(dev: string, ifb: string): Promise<boolean> {
    const r = await this.runner.run(['tc', '-j', 'filter', 'show', 'dev', dev, 'parent', 'ffff:']);
    if (r.code !== 0 || !r.stdout.trim()) return false;
    const filters = JSON.parse(r.stdout) as Array<{
      options?: { actions?: Array<{ kind?: string; to_dev?: string }> };
    }>;
    return filters.some((f) => f.options?.actions?.some((a) => a.kind === 'mirred' && a.to_dev === ifb));
  }

  private async detach(dev: string): Promise<void> {
    const r = await this.runner.run(['tc', 'qdisc', 'del', 'dev', dev, 'ingress']);
    // Nothing attached, or the interface is gone already (a released endpoint): both mean detached.
    if (
      r.code !== 0 &&
      !/Cannot find specified qdisc|Invalid handle|Cannot find device|No such file|does not exist/i.test(r.stderr)
    )
      throw new CommandError(r);
  }

  private async deleteLink(name: string): Promise<void> {
    const r = await this.runner.run(['ip', 'link', 'del', name]);
    if (r.code !== 0 && !/Cannot find device|does not exist/i.test(r.stderr)) throw new CommandError(r);
  }

  async inventory(): Promise<KernelRateLimit[]> {
    const out: KernelRateLimit[] = [];
    const qdiscs = JSON.parse(
      (await runChecked(this.runner, ['tc', '-j', 'qdisc', 'show'])).stdout || '[]',
    ) as TcQdisc[];
    const ifbPattern = new RegExp(`^${this.prefix}_rl(\\d+)$`);
    const seen = new Set<string>();
    for (const q of qdiscs) {
      const m = ifbPattern.exec(q.dev);
      if (m && q.kind === 'tbf' && q.root) {
        seen.add(q.dev);
        out.push({
          object: `ifb ${q.dev}`,
          slot: Number(m[1]),
          ...(typeof q.options?.rate === 'number' ? { egressMbit: (q.options.rate * 8) / 1e6 } : {}),
        });
      } else if (q.kind === 'ingress' && q.dev.startsWith(`${this.prefix}-`)) {
        out.push({ object: `ingress redirect on ${q.dev}`, hostInterface: q.dev });
      }
    }
    // An ifb left without its tbf (a crash between the two steps) is one too.
    const links = JSON.parse(
      (await runChecked(this.runner, ['ip', '-j', 'link', 'show', 'type', 'ifb'])).stdout || '[]',
    ) as Array<{ ifname: string }>;
    for (const l of links) {
      const m = ifbPattern.exec(l.ifname);
      if (m && !seen.has(l.ifname)) out.push({ object: `ifb ${l.ifname}`, slot: Number(m[1]) });
    }
    return out;
  }

  async remove(object: KernelRateLimit): Promise<void> {
    if (object.hostInterface !== undefined) await this.detach(parseInterfaceName(object.hostInterface));
    if (object.slot !== undefined) await this.deleteLink(this.ifbName(object.slot));
  }
}

/** The ifb that shapes the sandbox in `slot` of cubenet `prefix` (its tbf's counters are the limit's). */
export function tcIfbName(prefix: string, slot: number): string {
  if (!Number.isInteger(slot) || slot < 1 || slot > 99_999)
    throw new Error(`rate-limit slot must be 1-99999, got ${slot}`);
  return parseInterfaceName(`${parsePrefix(prefix)}_rl${slot}`);
}

interface TcQdisc {
  kind: string;
  dev: string;
  root?: boolean;
  options?: { rate?: number };
}

/** `tbf rate Nmbit burst B latency L`: burst is TBF_BURST_MS at the rate (at least 16 kB: several full frames). */
export function tbfArgs(mbit: number): string[] {
  const burst = Math.max(16_000, Math.round((mbit * 1e6 * TBF_BURST_MS) / 1000 / 8));
  return ['tbf', 'rate', `${mbit}mbit`, 'burst', String(burst), 'latency', `${TBF_LATENCY_MS}ms`];
}

function redirectArgv(dev: string, ifb: string): string[] {
  return [
    'tc',
    'filter',
    'add',
    'dev',
    dev,
    'parent',
    'ffff:',
    'protocol',
    'all',
    'u32',
    'match',
    'u32',
    '0',
    '0',
    'action',
    'mirred',
    'egress',
    'redirect',
    'dev',
    ifb,
  ];
}
