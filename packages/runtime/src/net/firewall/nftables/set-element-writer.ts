/**
 * Element changes of the shared policy sets sent to the kernel as raw netlink, through the small C program
 * native/nft-set-elements.c (built by scripts/setup.sh; see native/build.sh). nft spends ~3.5 µs per element
 * turning text into netlink, so a 1 000-address replace (2 000 element operations) cost ~7 ms in nft alone; the
 * helper takes the elements' bytes and sends the same single transaction in ~1.5 ms. List changes and whole-policy
 * loads and releases (sandbox-items.ts) go this way: the table, its chains, and every slow path (a retry against
 * what the kernel holds) stay nft text.
 *
 * One long-lived process per table; a transaction is one line of `<a|e|d> [bridge:]<set> <key-hex>[-<key-end-hex>]
 * [=<data-hex>][+<comment-hex>]` items (the grammar is in native/nft-set-elements.c), the answer one line ("<seq>
 * ok" or "<seq> error <errno> <message>"). If the process dies, the next apply starts a new one. The helper itself
 * checks set names and hex; the keys are built here from addresses that were validated before they reached the
 * firewall, and are parsed again below, so nothing but address bytes reaches it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AddressList, SandboxAddresses } from '../../types.ts';
import { ipv4ToNumber, ipv6ToGroups } from '../../validate.ts';
import { listElementChanges, policySetName, type ElementLists } from './render.ts';

/** Where native/build.sh puts the helper. */
export const SET_ELEMENT_WRITER_PATH = fileURLToPath(
  new URL('../../../../native/bin/nft-set-elements', import.meta.url),
);

/** The helper's path if it has been built, else undefined (cubenet then sends every change as nft text). */
export function builtSetElementWriter(): string | undefined {
  return existsSync(SET_ELEMENT_WRITER_PATH) ? SET_ELEMENT_WRITER_PATH : undefined;
}

export class SetElementWriterError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'SetElementWriterError';
  }
}

const SET_NAME = /^[a-z][a-z0-9_]{0,31}$/;

const BYTE_HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
export const ipv4Hex = (n: number) =>
  BYTE_HEX[n >>> 24]! + BYTE_HEX[(n >>> 16) & 255]! + BYTE_HEX[(n >>> 8) & 255]! + BYTE_HEX[n & 255]!;
const groupHex = (g: number) => BYTE_HEX[g >>> 8]! + BYTE_HEX[g & 255]!;

/** An address's bytes as hex (network order); a CIDR's first and last address. Throws on anything else. */
export function addressRange(text: string): [string, string] {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const v4 = ipv4ToNumber(address);
  if (v4 !== undefined) {
    if (slash < 0) {
      const h = ipv4Hex(v4);
      return [h, h];
    }
    const size = 2 ** (32 - prefixLength(text.slice(slash + 1), 32, text));
    if (v4 % size !== 0) throw new Error(`set element: ${text} is not a network address`);
    return [ipv4Hex(v4), ipv4Hex(v4 + size - 1)];
  }
  const groups = ipv6ToGroups(address);
  if (!groups) throw new Error(`set element: ${JSON.stringify(text)} is neither an IPv4 nor an IPv6 address or CIDR`);
  if (slash < 0) {
    let h = '';
    for (let g = 0; g < 8; g++) h += groupHex(groups[g]!);
    return [h, h];
  }
  const len = prefixLength(text.slice(slash + 1), 128, text);
  let start = '';
  let end = '';
  for (let g = 0; g < 8; g++) {
    const mask = (1 << Math.min(16, Math.max(0, 128 - len - (7 - g) * 16))) - 1;
    if ((groups[g]! & mask) !== 0) throw new Error(`set element: ${text} is not a network address`);
    start += groupHex(groups[g]!);
    end += groupHex(groups[g]! | mask);
  }
  return [start, end];
}

function prefixLength(text: string, max: number, whole: string): number {
  const n = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 0 && n <= max)) throw new Error(`set element: bad prefix length in ${whole}`);
  return n;
}

/**
 * The request items for `op` of `keys` in `set`: `<op> <set> <key>` for an exact key, `<op> <set> <start>-<end>` when
 * the destination is a CIDR (a range of the interval set). Keys are `<sandbox address> . <destination>` as render.ts
 * writes them; a set's keys share few sources, so each source is parsed once. op: a (create), e (ensure present),
 * d (delete).
 */
export function encodeSetItems(op: 'a' | 'e' | 'd', set: string, keys: Iterable<string>, into: string[]): void {
  if (!SET_NAME.test(set)) throw new Error(`set element: bad set name ${JSON.stringify(set)}`);
  let lastSource = '';
  let sourceHex = '';
  const lead = `${op} ${set} `;
  for (const key of keys) {
    const dot = key.indexOf(' . ');
    if (dot < 0 || key.indexOf(' . ', dot + 3) >= 0)
      throw new Error(`set element: ${JSON.stringify(key)} is not "<address> . <address or CIDR>"`);
    const source = key.slice(0, dot);
    if (source !== lastSource) {
      const [from, to] = addressRange(source);
      if (from !== to) throw new Error(`set element: the source of ${key} must be one address`);
      lastSource = source;
      sourceHex = from;
    }
    const destination = key.slice(dot + 3);
    const [start, end] = addressRange(destination);
    if (start.length !== sourceHex.length) throw new Error(`set element: ${key} mixes IPv4 and IPv6`);
    into.push(
      start === end && !destination.includes('/')
        ? lead + sourceHex + start
        : `${lead}${sourceHex}${start}-${sourceHex}${end}`,
    );
  }
}

/** One address's bytes as hex (network order); throws on anything but one IPv4 or IPv6 address. */
function exactAddressHex(text: string): string {
  const v4 = ipv4ToNumber(text);
  if (v4 !== undefined) return ipv4Hex(v4);
  const groups = ipv6ToGroups(text);
  if (!groups) throw new Error(`set element: ${JSON.stringify(text)} is neither an IPv4 nor an IPv6 address`);
  let h = '';
  for (let g = 0; g < 8; g++) h += groupHex(groups[g]!);
  return h;
}

/**
 * The request items of one list going from `before` to `after` (normalised, without duplicates): the same
 * transaction as encodeChanges(listElementChanges(...)), built straight from the entries that differ. A replace of
 * 1 000 addresses is 2 000 items, and the `<source> . <destination>` key strings the text path needs would be built
 * and split again only to be encoded; here each destination is parsed once, into its bytes.
 */
export function encodeListChange(
  a: SandboxAddresses,
  list: AddressList,
  before: readonly string[],
  after: readonly string[],
): string {
  const was = new Set(before);
  const now = new Set(after);
  const source = { ipv4: exactAddressHex(a.ipv4), ipv6: exactAddressHex(a.ipv6) };
  if (source.ipv4.length !== 8 || source.ipv6.length !== 32)
    throw new Error(`set element: ${a.ipv4} / ${a.ipv6} are not one IPv4 and one IPv6 address`);
  const lead = (op: 'a' | 'd', family: 'ipv4' | 'ipv6') =>
    `${op} ${policySetName(list, family, false)} ${source[family]}`;
  const cidrs: { before: string[]; after: string[] } = { before: [], after: [] };
  const items = {
    d: { ipv4: [] as string[], ipv6: [] as string[] },
    a: { ipv4: [] as string[], ipv6: [] as string[] },
  };
  for (const [op, from, other, side] of [
    ['d', before, now, 'before'],
    ['a', after, was, 'after'],
  ] as const) {
    const v4 = lead(op, 'ipv4');
    const v6 = lead(op, 'ipv6');
    for (const e of from) {
      if (e.includes('/')) {
        cidrs[side].push(e);
        continue;
      }
      if (other.has(e)) continue;
      const hex = exactAddressHex(e);
      if (hex.length === 8) items[op].ipv4.push(v4 + hex);
      else items[op].ipv6.push(v6 + hex);
    }
  }
  const cidr = listElementChanges(a, list, cidrs.before, cidrs.after);
  const out = [...items.d.ipv4, ...items.d.ipv6];
  for (const [set, keys] of cidr.gone) encodeSetItems('d', set, keys, out);
  out.push(...items.a.ipv4, ...items.a.ipv6);
  for (const [set, keys] of cidr.added) encodeSetItems('a', set, keys, out);
  return out.join(' ');
}

/** One element as the helper reads it (see encodeSetItems), without the operation. */
export function encodeElement(set: string, key: string): string {
  const out: string[] = [];
  encodeSetItems('a', set, [key], out);
  return out[0]!.slice(2);
}

/** The request line's items for deletes of `gone` and adds of `added`. */
export function encodeChanges(changes: { gone: ElementLists; added: ElementLists }): string {
  const items: string[] = [];
  for (const [set, keys] of changes.gone) encodeSetItems('d', set, keys, items);
  for (const [set, keys] of changes.added) encodeSetItems('a', set, keys, items);
  return items.join(' ');
}

interface Pending {
  seq: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class SetElementWriter {
  private child?: ChildProcessWithoutNullStreams;
  private ready?: Promise<void>;
  private seq = 0;
  private readonly queue: Pending[] = [];

  constructor(
    private readonly binary: string,
    /** The nftables family and table the sets belong to. */
    private readonly family: 'inet' | 'bridge',
    private readonly table: string,
  ) {}

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn(this.binary, [this.family, this.table], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let buffer = '';
    let readyResolve!: () => void;
    this.ready = new Promise<void>((resolve) => (readyResolve = resolve));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line === 'ready') {
          readyResolve();
          continue;
        }
        this.answer(line);
      }
    });
    const fail = (why: string) => {
      if (this.child === child) this.child = undefined;
      readyResolve();
      const detail = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : '';
      for (const p of this.queue.splice(0)) p.reject(new Error(`${this.binary} ${why}${detail}`));
    };
    child.on('error', (e) => fail(`could not run: ${e.message}`));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? code})`));
    child.stdin.on('error', () => undefined);
    this.child = child;
    return child;
  }

  private answer(line: string): void {
    const m = /^(\d+) (?:ok|error (\d+) (.*))$/.exec(line);
    const p = this.queue[0];
    if (!p) return;
    if (!m || Number(m[1]) !== p.seq) {
      this.queue.shift();
      p.reject(new Error(`${this.binary}: unexpected answer ${JSON.stringify(line)}`));
      return;
    }
    this.queue.shift();
    if (m[2] === undefined) p.resolve();
    else
      p.reject(
        new SetElementWriterError(
          Number(m[2]),
          `the kernel refused the set element transaction: ${m[3]} (errno ${m[2]})`,
        ),
      );
  }

  /** Applies deletes of `gone` and adds of `added` as one transaction (all or nothing). */
  apply(changes: { gone: ElementLists; added: ElementLists }): Promise<void> {
    return this.applyItems(encodeChanges(changes));
  }

  /** Applies request items (encoded here or in sandbox-items.ts), in their order, as one transaction. */
  async applyItems(items: string): Promise<void> {
    if (!items) return;
    const child = this.child ?? this.start();
    await this.ready;
    if (this.child !== child) throw new Error(`${this.binary} did not start`);
    const seq = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ seq, resolve, reject });
      child.stdin.write(`${seq} ${items}\n`);
    });
  }

  close(): void {
    const child = this.child;
    this.child = undefined;
    if (child) {
      child.stdin.end();
      child.kill('SIGTERM');
    }
  }
}
