/**
 * The FreeBSD rate limiter: one dummynet(4) pipe per limited sandbox, configured with dnctl(8)
 * (`dnctl pipe N config bw XMbit/s`), and pf sending the sandbox's egress through it: the sandbox anchor's
 * `pass in … from <its addresses>` rules carry `dnpipe N` (rendered by the pf backend, which is why this limiter
 * is `inFirewall`). With a single pipe number pf shapes only the rule's own direction (pf.c pf_pdesc_to_dnflow():
 * the reply direction takes the second number of `dnpipe (N, M)`), so what the sandbox sends is limited, not
 * the replies. Pipe numbers are `pipeBase + slot`, so the pipes of a prefix are a known range.
 */
import { type CommandRunner, CommandError, runChecked } from '../../host/command-runner.ts';
import type { KernelRateLimit, RateLimit, RateLimiter, RateLimitTarget } from './rate-limit.ts';
import { parseRateLimit } from './rate-limit.ts';

/** dummynet's pipe numbers run 1-65535 (DN_MAX_ID is 65536). */
export const MAX_PIPE = 65_535;

export class DummynetPipes {
  constructor(
    /** Pipe of slot N is base + N. */
    readonly base: number,
    /** The largest slot (host number) the cubenet hands out. */
    readonly maxSlot: number,
  ) {
    if (!Number.isInteger(base) || base < 0 || !Number.isInteger(maxSlot) || maxSlot < 1 || base + maxSlot > MAX_PIPE) {
      throw new Error(`dummynet pipes ${base + 1}-${base + maxSlot} do not fit in 1-${MAX_PIPE}`);
    }
  }

  pipeOf(slot: number): number {
    if (!Number.isInteger(slot) || slot < 1 || slot > this.maxSlot)
      throw new Error(`rate-limit slot must be 1-${this.maxSlot}, got ${slot}`);
    return this.base + slot;
  }

  slotOf(pipe: number): number | undefined {
    const slot = pipe - this.base;
    return slot >= 1 && slot <= this.maxSlot ? slot : undefined;
  }
}

export class DummynetRateLimiter implements RateLimiter {
  readonly kind = 'dummynet' as const;
  readonly inFirewall = true;

  constructor(
    private readonly runner: CommandRunner,
    readonly pipes: DummynetPipes,
  ) {}

  async preflight(): Promise<string[]> {
    const r = await this.runner.run(['kldstat', '-q', '-m', 'dummynet']);
    if (r.code === 127) return ['kldstat not found: this does not look like a FreeBSD host'];
    if (r.code !== 0)
      return [
        'dummynet(4) is not loaded, so rate limits cannot be enforced: kldload dummynet (and dummynet_load="YES" in /boot/loader.conf)',
      ];
    return [];
  }

  async apply(target: RateLimitTarget, limitInput: RateLimit): Promise<void> {
    const limit = parseRateLimit(limitInput);
    // `config` on an existing pipe changes its bandwidth in place.
    await runChecked(this.runner, [
      'dnctl',
      'pipe',
      String(this.pipes.pipeOf(target.slot)),
      'config',
      'bw',
      `${limit.egressMbit}Mbit/s`,
    ]);
  }

  async clear(target: RateLimitTarget): Promise<void> {
    await this.deletePipe(this.pipes.pipeOf(target.slot));
  }

  private async deletePipe(pipe: number): Promise<void> {
    if (!(await this.pipeNumbers()).has(pipe)) return;
    await runChecked(this.runner, ['dnctl', 'pipe', 'delete', String(pipe)]);
  }

  private async pipeNumbers(): Promise<Set<number>> {
    return new Set(parsePipeShow(await this.show()).map((p) => p.pipe));
  }

  private async show(): Promise<string> {
    const r = await this.runner.run(['dnctl', 'pipe', 'show']);
    // Without the dummynet module there are no pipes (preflight says how to load it).
    if (r.code !== 0 && /Protocol not available/.test(r.stderr)) return '';
    if (r.code !== 0) throw new CommandError(r);
    return r.stdout;
  }

  async inventory(): Promise<KernelRateLimit[]> {
    const out: KernelRateLimit[] = [];
    for (const p of parsePipeShow(await this.show())) {
      const slot = this.pipes.slotOf(p.pipe);
      if (slot === undefined) continue;
      out.push({ object: `dummynet pipe ${p.pipe}`, slot, ...(p.mbit !== undefined ? { egressMbit: p.mbit } : {}) });
    }
    return out;
  }

  async remove(object: KernelRateLimit): Promise<void> {
    if (object.slot !== undefined) await this.deletePipe(this.pipes.pipeOf(object.slot));
  }
}

/**
 * `dnctl pipe show`: each pipe starts with a line `NNNNN: <bandwidth> <delay> ms burst <burst>`, the bandwidth
 * printed as `%7.3f Mbit/s` (or Kbit/s, bit/s, or `unlimited`), followed by its flowset and scheduler lines.
 */
export function parsePipeShow(stdout: string): Array<{ pipe: number; mbit?: number }> {
  const out: Array<{ pipe: number; mbit?: number }> = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\d{5}):\s+(?:unlimited|([\d.]+)\s+(bit|Kbit|Mbit)\/s)\s+\d+\s+ms\b/.exec(line);
    if (!m) continue;
    const pipe = Number(m[1]);
    if (m[2] === undefined) {
      out.push({ pipe });
      continue;
    }
    const scale = m[3] === 'Mbit' ? 1 : m[3] === 'Kbit' ? 1e-3 : 1e-6;
    out.push({ pipe, mbit: Math.round(Number(m[2]) * scale * 1e6) / 1e6 });
  }
  return out;
}
