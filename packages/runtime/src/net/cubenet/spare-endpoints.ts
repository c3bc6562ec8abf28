import { randomBytes } from 'node:crypto';
import type { BackgroundWork } from '../../shared/background-work.ts';
import type { BridgeSetup, Endpoint, EndpointProvider } from '../endpoint/endpoint.ts';
import type { Ipam } from '../ipam.ts';
import type { EndpointKind, InterfaceName } from '../types.ts';
import { parseInterfaceName } from '../validate.ts';

/** An endpoint with its address slot: idle ones are kept *addressed* (no firewall hook: they can send nothing). */
export interface IdleEndpoint {
  endpoint: Endpoint;
  host: number;
}

export interface SpareEndpointsOptions {
  prefix: string;
  bridge: InterfaceName;
  setup: BridgeSetup;
  ipam: Ipam;
  endpoints: EndpointProvider;
  work: BackgroundWork;
  /** Idle endpoints kept warm per kind (refilled in the background). */
  spares?: Partial<Record<EndpointKind, number>>;
  /** Most idle endpoints kept per kind after releases. Default max(spares, 8). */
  maxIdle?: number;
  /** Whether the controller is closing: no refills, no endpoint kept idle. */
  closed: () => boolean;
}

/** The warm pool of idle endpoints per kind: made ahead (warm, refill), taken by checkouts, kept or destroyed after use. */
export class SpareEndpoints {
  private readonly idle: Record<EndpointKind, IdleEndpoint[]> = { tap: [], isolated: [] };
  private readonly refilling: Record<EndpointKind, number> = { tap: 0, isolated: 0 };

  constructor(private readonly opts: SpareEndpointsOptions) {}

  /** An idle endpoint of `kind` for a checkout, if one is warm. */
  take(kind: EndpointKind): IdleEndpoint | undefined {
    return this.idle[kind].pop();
  }

  /** Gives back an idle endpoint a failed checkout took (it was fine before; its states are already gone). */
  putBack(slot: IdleEndpoint): void {
    this.idle[slot.endpoint.kind].push(slot);
  }

  count(kind: EndpointKind): number {
    return this.idle[kind].length;
  }

  /** Host interface names of every idle endpoint. */
  interfaces(): string[] {
    return [...this.idle.tap, ...this.idle.isolated].map((s) => s.endpoint.hostInterface);
  }

  /** A new endpoint on the bridge with the addresses of `host`; on failure whatever got made is destroyed. */
  async create(kind: EndpointKind, host: number): Promise<Endpoint> {
    const { prefix, endpoints, ipam } = this.opts;
    const name = parseInterfaceName(`${prefix}-${kind === 'tap' ? 't' : 'e'}${randomBytes(4).toString('hex')}`);
    try {
      const endpoint = await endpoints.create(kind, name, this.opts.bridge);
      await endpoints.address(endpoint, ipam.addresses(host), this.opts.setup);
      return endpoint;
    } catch (e) {
      await endpoints
        .destroy({ kind, hostInterface: name, ...(kind === 'isolated' ? { isolation: name } : {}) })
        .catch(() => undefined);
      throw e;
    }
  }

  /** Creates idle endpoints until `count` of this kind are warm. */
  async warm(kind: EndpointKind, count: number): Promise<void> {
    while (this.idle[kind].length + this.refilling[kind] < count) {
      this.refilling[kind]++;
      try {
        const host = this.opts.ipam.allocate();
        try {
          this.idle[kind].push({ host, endpoint: await this.create(kind, host) });
        } catch (e) {
          this.opts.ipam.release(host);
          throw e;
        }
      } finally {
        this.refilling[kind]--;
      }
    }
  }

  /** Starts background creation up to the configured spares of `kind` (nothing if that many are warm or coming). */
  refill(kind: EndpointKind): void {
    const target = this.opts.spares?.[kind] ?? 0;
    if (this.idle[kind].length + this.refilling[kind] >= target || this.opts.closed()) return;
    this.opts.work.track(this.warm(kind, target));
  }

  /** Refills every kind that has spares configured. */
  refillAll(): void {
    for (const [kind, n] of Object.entries(this.opts.spares ?? {}) as Array<[EndpointKind, number]>) {
      if (n > 0) this.refill(kind);
    }
  }

  /** Whether checkouts of `kind` should trigger a refill. */
  keepsSpares(kind: EndpointKind): boolean {
    return (this.opts.spares?.[kind] ?? 0) > 0;
  }

  /** After a release (its states gone): kept idle while under the limit, else destroyed and its address freed. */
  async keepOrDestroy(slot: IdleEndpoint): Promise<void> {
    const kind = slot.endpoint.kind;
    const keep = Math.max(this.opts.spares?.[kind] ?? 0, this.opts.maxIdle ?? 8);
    if (!this.opts.closed() && this.idle[kind].length < keep) {
      this.idle[kind].push(slot);
      return;
    }
    await this.opts.endpoints.destroy(slot.endpoint);
    this.opts.ipam.release(slot.host);
  }

  /** Takes every idle endpoint out of the pool, their addresses freed (teardown destroys the endpoints). */
  drain(): Endpoint[] {
    const out: Endpoint[] = [];
    for (const kind of ['tap', 'isolated'] as const) {
      for (const s of this.idle[kind].splice(0)) {
        out.push(s.endpoint);
        this.opts.ipam.release(s.host);
      }
    }
    return out;
  }
}
