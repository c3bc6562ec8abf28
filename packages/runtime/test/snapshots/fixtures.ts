import type { PortForward, SandboxAddresses, SandboxId, SandboxPolicy } from '../../src/net/types.ts';

/** A sandbox as both renderers see it; each fixture becomes test/snapshots/<name>.nft and <name>.pf. */
export interface RuleTextFixture {
  name: string;
  id: SandboxId;
  addresses: SandboxAddresses;
  policy: SandboxPolicy;
  forwards: PortForward[];
  /** pf only: the sandbox's dummynet pipe (Linux rate limits are tc qdiscs, not nft rules). */
  dnpipe?: number;
}

const id = (n: number) => `5a9b000000${n.toString(16).padStart(2, '0')}` as SandboxId;
const at = (host: number): SandboxAddresses => ({ ipv4: `10.77.0.${host}`, ipv6: `fd77::${host.toString(16)}` });
const policy = (p: Partial<SandboxPolicy>): SandboxPolicy => ({ allowOut: [], denyOut: [], dnsAllow: [], allowInternetAccess: false, ...p });

export const FIXTURES: RuleTextFixture[] = [
  { name: 'default', id: id(1), addresses: at(5), policy: policy({}), forwards: [] },
  {
    name: 'allow-list',
    id: id(2),
    addresses: at(6),
    policy: policy({ allowOut: ['198.51.100.7', '203.0.113.0/24', '2001:db8:10::/48'], dnsAllow: ['192.0.2.53', '2001:db8::53'] }),
    forwards: [],
  },
  {
    name: 'deny-list',
    id: id(3),
    addresses: at(7),
    policy: policy({ denyOut: ['198.51.100.66', '203.0.113.128/25', '2001:db8:bad::/48'], allowInternetAccess: true }),
    forwards: [],
  },
  {
    name: 'ipv6',
    id: id(4),
    addresses: at(8),
    policy: policy({ allowOut: ['2001:db8:1::1', '2001:db8:2::/64'], denyOut: ['2001:db8:2::dead'], dnsAllow: ['2001:4860:4860::8888'] }),
    forwards: [],
  },
  {
    name: 'forwards',
    id: id(5),
    addresses: at(9),
    policy: policy({ allowInternetAccess: true }),
    forwards: [
      { protocol: 'tcp', hostPort: 8080, sandboxPort: 80 },
      { protocol: 'udp', hostPort: 5353, sandboxPort: 53 },
    ],
  },
  { name: 'rate-limit', id: id(6), addresses: at(10), policy: policy({ allowInternetAccess: true }), forwards: [], dnpipe: 10010 },
  {
    name: 'many-addresses',
    id: id(7),
    addresses: at(11),
    policy: policy({
      allowOut: [
        ...Array.from({ length: 24 }, (_, i) => `198.51.100.${i * 10 + 1}`),
        ...Array.from({ length: 8 }, (_, i) => `203.0.${113 + i}.0/24`),
        ...Array.from({ length: 8 }, (_, i) => `2001:db8:${(i + 1).toString(16)}::/48`),
      ],
      denyOut: ['198.51.100.11', '2001:db8:3::bad'],
    }),
    forwards: [],
  },
];
