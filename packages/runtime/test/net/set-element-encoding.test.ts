/** The keys the netlink element writer sends: address, interface and port bytes as the kernel keys them, nothing else. */
import { describe, expect, it } from 'vitest';
import { listElementChanges, type SandboxSpec } from '../../src/net/firewall/nftables/render.ts';
import { sandboxItems } from '../../src/net/firewall/nftables/sandbox-items.ts';
import { encodeChanges, encodeElement, encodeListChange } from '../../src/net/firewall/nftables/set-element-writer.ts';
import type { PortForward } from '../../src/net/types.ts';
import { parsePolicy, parseSandboxId } from '../../src/net/validate.ts';

describe('encodeElement', () => {
  it('writes `source . destination` as the concatenated bytes of both addresses', () => {
    expect(encodeElement('allow4', '10.78.0.2 . 198.18.255.1')).toBe('allow4 0a4e0002c612ff01');
    expect(encodeElement('deny6', 'fd78::2 . 2001:db8::a:1')).toBe(
      `deny6 fd78000000000000000000000000000220010db80000000000000000000a0001`,
    );
    expect(encodeElement('allow4', '10.78.0.2 . 255.255.255.255')).toBe('allow4 0a4e0002ffffffff');
  });

  it('writes a CIDR destination as the range of the interval set, the source repeated at both ends', () => {
    expect(encodeElement('allow4net_2', '10.78.0.2 . 198.51.100.0/24')).toBe(
      'allow4net_2 0a4e0002c6336400-0a4e0002c63364ff',
    );
    expect(encodeElement('dns4net_0', '10.78.0.32 . 0.0.0.0/0')).toBe('dns4net_0 0a4e002000000000-0a4e0020ffffffff');
    expect(encodeElement('deny6net_5', 'fd78::5 . 2001:db8:8000::/33')).toBe(
      'deny6net_5 fd78000000000000000000000000000520010db8800000000000000000000000-fd78000000000000000000000000000520010db8ffffffffffffffffffffffff',
    );
    expect(encodeElement('deny6net_5', 'fd78::5 . 2001:db8::1/128')).toBe(
      'deny6net_5 fd78000000000000000000000000000520010db8000000000000000000000001-fd78000000000000000000000000000520010db8000000000000000000000001',
    );
  });

  it('refuses anything that is not a set name and two addresses of one family', () => {
    for (const [set, key] of [
      ['allow4 x', '10.78.0.2 . 198.18.0.1'],
      ['allow4;', '10.78.0.2 . 198.18.0.1'],
      ['Allow4', '10.78.0.2 . 198.18.0.1'],
      ['allow4', '10.78.0.2 . 198.18.0.1 . 1.1.1.1'],
      ['allow4', '10.78.0.2 198.18.0.1'],
      ['allow4', '10.78.0.2 . 198.18.0.1 } ; flush ruleset'],
      ['allow4', '10.78.0.2 . fd00::1'],
      ['allow4', '10.78.0.0/24 . 198.18.0.1'],
      ['allow4', '10.78.0.2 . 198.51.100.1/24'],
      ['allow4', '10.78.0.2 . 198.51.100.0/33'],
      ['allow4', '10.78.0.2 . 198.51.100.0/2x'],
      ['allow6', 'fd78::2 . 2001:db8::1/64'],
      ['allow4', '10.78.0.2 . 256.0.0.1'],
    ] as const) {
      expect(() => encodeElement(set, key), `${set} { ${key} }`).toThrow(/set element/);
    }
  });

  it('puts every delete before every add, whatever the order of the sets', () => {
    const line = encodeChanges({
      gone: new Map([['allow4', ['10.78.0.2 . 198.18.0.1']]]),
      added: new Map([
        ['allow6', ['fd78::2 . 2001:db8::1']],
        ['allow4', ['10.78.0.2 . 198.18.0.2']],
      ]),
    });
    expect(line.split(' ').filter((w) => w === 'a' || w === 'd')).toEqual(['d', 'a', 'a']);
    expect(line).toBe(
      'd allow4 0a4e0002c6120001 a allow6 fd78000000000000000000000000000220010db8000000000000000000000001 a allow4 0a4e0002c6120002',
    );
  });
});

describe('sandboxItems', () => {
  const spec = (hostInterface: string, forwards: PortForward[] = []): SandboxSpec => ({
    id: parseSandboxId('00000000000a'),
    addresses: { ipv4: '10.78.0.10', ipv6: 'fd78::a' },
    policy: parsePolicy({}),
    forwards,
    hostInterface: hostInterface as SandboxSpec['hostInterface'],
  });

  it('writes members with their comment, spoof entries in the bridge table and forwards as map elements', () => {
    const items = sandboxItems(
      spec('cpx-t1', [{ protocol: 'udp', hostPort: 8080, sandboxPort: 53 }]),
      new Map(),
      new Map(),
    ).split(' e ');
    expect(items[0]).toBe(`e members4 0a4e000a+${Buffer.from('sbx-00000000000a').toString('hex')}`);
    expect(items).toContain(`bridge:src4 ${Buffer.from('cpx-t1').toString('hex').padEnd(32, '0')}0a4e000a`);
    expect(items).toContain('fwd4 110000001f900000=0a4e000a00350000');
  });

  it('refuses an interface name that is not one', () => {
    for (const name of ['cpx t1', 'a'.repeat(16), 'cpx-t1}', 'cpx-t1\u0000'])
      expect(() => sandboxItems(spec(name), new Map(), new Map()), name).toThrow(/set element/);
  });
});

describe('encodeListChange', () => {
  const a = { ipv4: '10.78.0.2', ipv6: 'fd78::2' };
  const sorted = (items: string) => items.split(/ (?=[ad] )/).sort();

  it('is the transaction encodeChanges(listElementChanges(...)) is, deletes before adds', () => {
    const cases: Array<[string[], string[]]> = [
      [
        ['198.18.0.1', '2001:db8::1', '198.18.0.2'],
        ['198.18.0.2', '2001:db8::2', '198.18.0.3'],
      ],
      [[], ['198.18.0.1', '192.0.2.0/24', '2001:db8::/32']],
      [
        ['192.0.2.0/24', '192.0.2.0/25', '198.18.0.9'],
        ['192.0.2.0/25', '198.18.0.9', '2001:db8:1::/48'],
      ],
      [['2001:db8::/32', '2001:db8::7'], []],
      [['198.18.0.1'], ['198.18.0.1']],
    ];
    for (const [before, after] of cases) {
      const direct = encodeListChange(a, 'allowOut', before, after);
      expect(sorted(direct), `${before} → ${after}`).toEqual(
        sorted(encodeChanges(listElementChanges(a, 'allowOut', before, after))),
      );
      const ops = direct ? direct.split(/ (?=[ad] )/).map((i) => i[0]) : [];
      expect(ops.join('')).toMatch(/^d*a*$/);
    }
  });

  it('refuses an entry that is not an address or CIDR', () => {
    expect(() => encodeListChange(a, 'denyOut', [], ['198.18.0.1 } ; flush ruleset'])).toThrow(/set element/);
    expect(() => encodeListChange(a, 'denyOut', [], ['198.18.0.256'])).toThrow(/set element/);
  });
});
