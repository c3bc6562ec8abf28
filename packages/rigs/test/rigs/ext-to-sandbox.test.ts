import { describe, expect, it } from 'vitest';
import { directAcceptArgv, directAcceptPackets, finalDropHandle } from '../../src/rigs/ext-to-sandbox/direct-route.ts';

// `nft -j -a list chain inet T forward` (nft 1.0.6) of a chain laid out like cubenet's, after the rig's insert.
const meta = { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } };
const rule = (handle: number, expr: unknown[], chain = 'forward') => ({
  rule: { family: 'inet', table: 'cgf', chain, handle, expr },
});
const directRule = (packets: number) =>
  rule(20, [
    { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'cgxf-h' } },
    { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'cgf-br' } },
    { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: '10.91.0.2' } },
    { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 11111 } },
    { match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } },
    { counter: { packets, bytes: packets * 60 } },
    { accept: null },
  ]);
const listing = (...rules: unknown[]) =>
  JSON.stringify({
    nftables: [
      meta,
      {
        chain: {
          family: 'inet',
          table: 'cgf',
          name: 'forward',
          handle: 7,
          type: 'filter',
          hook: 'forward',
          prio: 0,
          policy: 'accept',
        },
      },
      rule(12, [
        { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } },
        { accept: null },
      ]),
      rule(13, [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: 'invalid' } }, { drop: null }]),
      rule(18, [
        { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'cgf-br' } },
        { match: { op: 'in', left: { ct: { key: 'status' } }, right: 'dnat' } },
        { accept: null },
      ]),
      ...rules,
    ],
  });

describe('ext-to-sandbox direct path plumbing', () => {
  it('finds the bare final drop, not a conditional drop', () => {
    expect(finalDropHandle(listing(rule(19, [{ drop: null }])), 'forward')).toBe(19);
  });

  it('refuses a chain without a final drop (cubenet changed its layout)', () => {
    expect(() => finalDropHandle(listing(), 'forward')).toThrow(/no final drop/);
    expect(() => finalDropHandle(listing(rule(19, [{ drop: null }], 'input')), 'forward')).toThrow(/no final drop/);
  });

  it('reads the packets of the one counted rule', () => {
    expect(directAcceptPackets(listing(directRule(2), rule(19, [{ drop: null }])), 'forward')).toBe(2);
    expect(() => directAcceptPackets(listing(rule(19, [{ drop: null }])), 'forward')).toThrow(/found 0/);
    expect(() => directAcceptPackets(listing(directRule(1), directRule(1)), 'forward')).toThrow(/found 2/);
  });

  it('builds the insert before the drop, and rejects anything that is not a name, address or port', () => {
    const d = { table: 'cgf', peerInterface: 'cgxf-h', bridge: 'cgf-br', sandboxIpv4: '10.91.0.2', port: 11111 };
    expect(directAcceptArgv(d, 19).join(' ')).toBe(
      'nft insert rule inet cgf forward position 19 iifname "cgxf-h" oifname "cgf-br" ip daddr 10.91.0.2 tcp dport 11111 ct state new counter accept',
    );
    expect(() => directAcceptArgv({ ...d, peerInterface: 'x"; flush ruleset' }, 19)).toThrow(/interface/);
    expect(() => directAcceptArgv({ ...d, sandboxIpv4: '10.91.0.2 accept' }, 19)).toThrow(/IPv4/);
    expect(() => directAcceptArgv({ ...d, port: 70000 }, 19)).toThrow(/port/);
  });
});
