import { describe, expect, it } from 'vitest';
import {
  parseCreatedName,
  parseGroupMembers,
  parseInterfaceDetail,
  parseInterfaceList,
} from '../../../src/net/endpoint/freebsd/ifconfig-parse.ts';
import {
  parseAnchors,
  parseInfo,
  parseLimits,
  parseRules,
  parseStates,
  parseTableNames,
  parseTableShow,
  portNumber,
} from '../../../src/net/firewall/pf/parse.ts';

/** Parsers of real pfctl(8)/ifconfig(8) output, fed text in the formats those tools print. */
describe('pfctl output parsers', () => {
  it('-s info', () => {
    const text = `Status: Enabled for 3 days 04:12:09           Debug: Urgent

State Table                          Total             Rate
  current entries                       17               
  searches                        18349125           66.3/s
  inserts                           221404            0.8/s
  removals                          221387            0.8/s
Counters
  match                             237013            0.9/s
`;
    expect(parseInfo(text)).toEqual({ enabled: true, stateEntries: 17 });
    expect(parseInfo('Status: Disabled for 0 days 00:00:00           Debug: Urgent\n').enabled).toBe(false);
    expect(parseInfo('').enabled).toBe(false);
  });

  it('-sm, with and without the anchors limit', () => {
    const text =
      'states        hard limit   100000\nsrc-nodes     hard limit   100000\nfrags         hard limit     5000\ntable-entries hard limit   200000\n';
    expect(parseLimits(text)).toEqual({ states: 100000, 'src-nodes': 100000, frags: 5000, 'table-entries': 200000 });
    expect(parseLimits(`${text}anchors       hard limit     4096\n`).anchors).toBe(4096);
  });

  it('-sA, -sT and -T show', () => {
    expect(parseAnchors('  cube/sandbox-0123456789ab\n  cube/sandbox-ba9876543210\n')).toEqual([
      'cube/sandbox-0123456789ab',
      'cube/sandbox-ba9876543210',
    ]);
    expect(parseTableNames('sandbox_allow\nsandbox_deny\n')).toEqual(['sandbox_allow', 'sandbox_deny']);
    expect(parseTableShow('   10.0.0.0/8\n   192.0.2.1\n   2001:db8::/32\n')).toEqual([
      '10.0.0.0/8',
      '192.0.2.1',
      '2001:db8::/32',
    ]);
    expect(parseTableShow('pfctl: Table does not exist.\n')).toEqual([]);
  });

  it('-ss: outbound, inbound, rdr-translated and IPv6 states', () => {
    const text = [
      'all tcp 10.77.0.5:41234 -> 198.51.100.7:443       ESTABLISHED:ESTABLISHED',
      'all tcp 198.51.100.7:443 <- 10.77.0.5:41234       ESTABLISHED:ESTABLISHED',
      'all tcp 10.77.0.5:80 (192.0.2.10:8080) <- 198.51.100.7:5555       ESTABLISHED:ESTABLISHED',
      'all udp fd77::5[5353] -> 2001:db8::53[53]       MULTIPLE:SINGLE',
      'all ipv6-icmp fd77::5[7] -> fd77::1[7]       0:0',
    ].join('\n');
    const s = parseStates(text);
    expect(s[0]).toMatchObject({
      protocol: 'tcp',
      source: { address: '10.77.0.5', port: 41234 },
      destination: { address: '198.51.100.7', port: 443 },
    });
    expect(s[1]).toMatchObject({
      source: { address: '10.77.0.5', port: 41234 },
      destination: { address: '198.51.100.7', port: 443 },
    });
    expect(s[2]).toMatchObject({
      source: { address: '198.51.100.7' },
      destination: { address: '192.0.2.10', port: 8080 },
      target: { address: '10.77.0.5', port: 80 },
    });
    expect(s[3]).toMatchObject({
      protocol: 'udp',
      source: { address: 'fd77::5', port: 5353 },
      destination: { address: '2001:db8::53', port: 53 },
    });
    expect(s).toHaveLength(5);
  });

  it('-sr: the rule forms cubenet reads back (labels, negated groups, service names, rdr-to)', () => {
    const text = [
      'anchor "cube/*" all',
      'block drop in quick on tap0 inet from 10.77.0.5 to <sandbox_deny> label "sandbox-0123456789ab"',
      'pass in quick on tap0 inet proto udp from 10.77.0.5 to <sandbox_dns> port = domain keep state label "sandbox-0123456789ab"',
      'pass in quick on ! cpt_ep inet proto tcp from any to 192.0.2.10 port = 8080 flags S/SA keep state label "sandbox-0123456789ab" rdr-to 10.77.0.5 port 80',
      'block drop in quick on tap0 all label "sandbox-0123456789ab"',
    ].join('\n');
    const r = parseRules(text);
    expect(r[0]).toMatchObject({ action: 'anchor', anchor: 'cube/*' });
    expect(r[1]).toMatchObject({
      action: 'block',
      direction: 'in',
      quick: true,
      interface: 'tap0',
      family: 'inet',
      from: '10.77.0.5',
      to: '<sandbox_deny>',
      label: 'sandbox-0123456789ab',
    });
    expect(portNumber(r[2]!.toPort)).toBe(53);
    expect(r[3]).toMatchObject({
      interface: 'cpt_ep',
      interfaceNegated: true,
      protocol: 'tcp',
      toPort: '8080',
      rdrTo: { address: '10.77.0.5', port: 80 },
    });
    expect(r[4]).toMatchObject({ action: 'block', from: 'any', to: 'any' });
  });
});

describe('ifconfig output parsers', () => {
  it('-l, -g and create', () => {
    expect(parseInterfaceList('em0 lo0 cpt-br tap0 cpt-e01020304\n')).toEqual([
      'em0',
      'lo0',
      'cpt-br',
      'tap0',
      'cpt-e01020304',
    ]);
    expect(parseGroupMembers('tap0\ncpt-e01020304\n')).toEqual(['tap0', 'cpt-e01020304']);
    expect(parseCreatedName('tap3\n', 'tap')).toBe('tap3');
    expect(parseCreatedName('epair12a\n', 'epair')).toBe('epair12a');
    expect(() => parseCreatedName('ifconfig: SIOCIFCREATE2: Invalid argument', 'tap')).toThrow(/not a tap name/);
  });

  it('one interface', () => {
    const text = `cpt-br: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1500
\tdescription: cpt cubenet bridge
\toptions=0
\tether 58:9c:fc:10:ff:a1
\tinet 10.77.0.1 netmask 0xffffff00 broadcast 10.77.0.255
\tinet6 fe80::5a9c:fcff:fe10:ffa1%cpt-br prefixlen 64 scopeid 0x5
\tinet6 fd77::1 prefixlen 64
\tid 00:00:00:00:00:00 priority 32768 hellotime 2 fwddelay 15
\tmember: tap0 flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>
\t        port 6 priority 128 path cost 2000000
\tgroups: bridge
\tnd6 options=9<PERFORMNUD,IFDISABLED>
`;
    expect(parseInterfaceDetail(text)).toEqual({
      name: 'cpt-br',
      up: true,
      description: 'cpt cubenet bridge',
      groups: ['bridge'],
      members: ['tap0'],
      inet: [{ address: '10.77.0.1', prefix: 24 }],
      inet6: [
        { address: 'fe80::5a9c:fcff:fe10:ffa1', prefix: 64 },
        { address: 'fd77::1', prefix: 64 },
      ],
    });
    expect(parseInterfaceDetail('ifconfig: interface x does not exist')).toBeUndefined();
  });
});
