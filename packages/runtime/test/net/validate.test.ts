import { describe, expect, it } from 'vitest';
import { AddressExhaustedError, Ipam, parseSubnets } from '../../src/net/ipam.ts';
import {
  NetInputError,
  parseAddressList,
  parseCidr,
  parseForwardSpec,
  parseInterfaceName,
  parsePolicy,
  parseSandboxId,
} from '../../src/net/validate.ts';

describe('validate', () => {
  it('normalises v4 and v6 addresses and CIDRs', () => {
    expect(parseCidr('10.1.2.3').text).toBe('10.1.2.3');
    expect(parseCidr('10.1.0.0/16').text).toBe('10.1.0.0/16');
    expect(parseCidr('10.1.2.3/32').text).toBe('10.1.2.3');
    expect(parseCidr('FD77:0:0:0:0:0:0:5').text).toBe('fd77::5');
    expect(parseCidr('2001:db8::/32').text).toBe('2001:db8::/32');
    expect(parseCidr('::ffff:192.0.2.1').text).toBe('::ffff:c000:201');
    expect(parseCidr('1:0:0:2:0:0:0:3').text).toBe('1:0:0:2::3');
    expect(parseCidr('::').text).toBe('::');
  });

  it('rejects host bits, bad lengths and hostile text with the field named', () => {
    expect(() => parseCidr('10.1.2.3/16')).toThrow(/host bits set \(did you mean 10\.1\.0\.0\/16\?\)/);
    expect(() => parseCidr('fd77::1/64')).toThrow(/did you mean fd77::\/64/);
    const hostile = [
      '10.0.0.1/33',
      '010.0.0.1',
      '1.2.3',
      '10.0.0.1 }',
      '10.0.0.1\nflush ruleset',
      '10.0.0.1; rm -rf /',
      '$(reboot)',
      'fe80::1%eth0',
      '1:2:3:4:5:6:7:8:9',
      '::1::2',
      '{ 10.0.0.1 }',
      'any',
    ];
    for (const h of hostile) expect(() => parseCidr(h, 'allowOut[0]'), h).toThrow(NetInputError);
    expect(() => parseCidr('x y', 'allowOut[3]')).toThrow(/invalid allowOut\[3\]/);
  });

  it('checks ids, interface names, ports and oversized lists', () => {
    expect(parseSandboxId('0123456789ab')).toBe('0123456789ab');
    for (const bad of ['0123456789AB', '0123456789a', '0123456789abc', '../../etc', 'sbx-1\n'])
      expect(() => parseSandboxId(bad)).toThrow(NetInputError);
    expect(parseInterfaceName('cpt-e01234567')).toBe('cpt-e01234567');
    for (const bad of ['a234567890123456', 'eth0;ls', 'br 0', '', '-x'])
      expect(() => parseInterfaceName(bad)).toThrow(NetInputError);
    expect(parseForwardSpec('udp:5353:53')).toEqual({ protocol: 'udp', hostPort: 5353, sandboxPort: 53 });
    expect(parseForwardSpec('8080:80')).toEqual({ protocol: 'tcp', hostPort: 8080, sandboxPort: 80 });
    for (const bad of ['0:80', '8080:65536', 'sctp:1:2', '80', '1:2:3:4'])
      expect(() => parseForwardSpec(bad)).toThrow(NetInputError);
    expect(() => parseAddressList(new Array(10_001).fill('10.0.0.1'), 'allowOut')).toThrow(/more than the limit/);
  });

  it('rejects unknown policy keys instead of ignoring them', () => {
    expect(parsePolicy({ allowOut: ['10.0.0.0/8', '10.0.0.0/8'] })).toEqual({
      allowOut: ['10.0.0.0/8'],
      denyOut: [],
      dnsAllow: [],
      allowInternetAccess: false,
    });
    expect(() => parsePolicy({ allowout: ['1.1.1.1'] })).toThrow(/unknown key "allowout"/);
    expect(() => parsePolicy({ allowInternetAccess: 'yes' })).toThrow(/allowInternetAccess/);
  });
});

describe('ipam', () => {
  it('hands out dual-stack pairs next-fit and says clearly when exhausted', () => {
    const ipam = new Ipam(parseSubnets('10.77.0.0/24', 'fd77::/64'), { first: 2, last: 4 });
    expect(ipam.gateway).toEqual({ ipv4: '10.77.0.1', ipv6: 'fd77::1' });
    const a = ipam.allocate();
    const b = ipam.allocate();
    expect(ipam.addresses(a)).toEqual({ ipv4: '10.77.0.2', ipv6: 'fd77::2' });
    expect(ipam.addresses(b)).toEqual({ ipv4: '10.77.0.3', ipv6: 'fd77::3' });
    ipam.release(a);
    expect(ipam.allocate()).toBe(4); // the just-released number is not reused first
    expect(ipam.allocate()).toBe(a);
    expect(() => ipam.allocate()).toThrow(AddressExhaustedError);
    expect(() => ipam.allocate()).toThrow(/all 3 allocatable addresses are in use/);
    expect(ipam.hostOf('fd77::3')).toBe(3);
    expect(ipam.hostOf('10.77.0.200')).toBe(200);
    expect(ipam.hostOf('10.78.0.2')).toBeUndefined();
  });

  it('never hands the same number to concurrent callers', async () => {
    const ipam = new Ipam(parseSubnets('10.77.0.0/24', 'fd77::/64'));
    const got = await Promise.all(
      Array.from({ length: 253 }, async () => {
        await Promise.resolve();
        return ipam.allocate();
      }),
    );
    expect(new Set(got).size).toBe(253);
    expect(() => ipam.allocate()).toThrow(AddressExhaustedError);
  });
});
