import { type Cidr, type Family, familyOf, parseCidr } from './inet.ts';

/**
 * A strict parser for the part of pf.conf(5) the runtime emits, standing in for pfctl's parse.y: tables (with
 * persist/const/counters and an inline address list), `pass`/`block [drop|return]` filter rules with the grammar's
 * fixed order (action, direction, log, quick, on, af, proto, hosts, filter options), `anchor "NAME"` calls, and the
 * translation rule `nat on IF ... -> ADDR`. Everything outside that subset fails like pfctl does:
 * "stdin:LINE: syntax error" (or the specific message parse.y gives), and nothing is loaded.
 */
export type PfHost =
  | { kind: 'any' }
  | { kind: 'table'; name: string }
  /** "self": every address of the host's interfaces. */
  | { kind: 'self' }
  | { kind: 'addr'; cidr: Cidr }
  /** "(em0)": the interface's addresses, followed as they change; bare "em0": its addresses at load time. */
  | { kind: 'iface'; name: string; dynamic: boolean };

export interface PfRule {
  action: 'pass' | 'block' | 'anchor' | 'nat';
  blockPolicy?: 'drop' | 'return';
  direction?: 'in' | 'out';
  log: boolean;
  quick: boolean;
  iface?: string;
  /** "on ! IF": every interface except IF (or except the members of the group IF). */
  ifaceNot?: boolean;
  af?: Family;
  proto?: string;
  from: PfHost;
  fromPort?: number;
  to: PfHost;
  toPort?: number;
  flags?: string;
  keepState: boolean;
  label?: string;
  /** tag NAME: the packet carries NAME on (pf.conf(5) tag), across interfaces and into the states it creates. */
  tag?: string;
  /** tagged NAME: the rule matches only packets carrying NAME. */
  tagged?: string;
  dnpipe?: number;
  /** icmp6-type: one ICMPv6 type (lists expand into one rule each). */
  icmp6Type?: number;
  rdrTo?: { host: PfHost; port?: number };
  natTo?: { host: PfHost };
  /** anchor rules: the called anchor path (may end in "/*"). */
  anchor?: string;
  /** nat rules: the translation address after "->". */
  natTarget?: PfHost;
}

export interface PfTableDef {
  name: string;
  persist: boolean;
  constant: boolean;
  entries: Cidr[];
  line: number;
}

export interface PfRuleset {
  tables: PfTableDef[];
  filter: PfRule[];
  nat: PfRule[];
}

export class PfSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`stdin:${line}: ${message}`);
    this.name = 'PfSyntaxError';
  }
}

/** What the model knows of the host when parsing: interface names (for "on IF", "(IF)" and bare interface hosts). */
export interface ParseContext {
  interfaceExists(name: string): boolean;
  interfaceAddresses(name: string): string[];
  /** Every address of the host's interfaces: pfctl expands `self` into them when it loads the rules. */
  selfAddresses(): string[];
  /** Parsing into the main ruleset (anchor wildcards allowed) or into an anchor. */
  main: boolean;
}

// /etc/services entries pfctl resolves for the ports the runtime uses (pfctl prints them back by name).
export const SERVICES: Record<string, number> = {
  ssh: 22,
  domain: 53,
  http: 80,
  https: 443,
  'domain-s': 853,
};

const PROTOCOLS = new Set(['tcp', 'udp', 'icmp', 'icmp6']);

// pfctl_parser.c icmp6_type[]: the names pf.conf accepts for ICMPv6 types.
export const ICMP6_TYPES: Record<string, number> = {
  unreach: 1,
  toobig: 2,
  timex: 3,
  paramprob: 4,
  echoreq: 128,
  echorep: 129,
  routersol: 133,
  routeradv: 134,
  neighbrsol: 135,
  neighbradv: 136,
  redir: 137,
};
const PF_TABLE_NAME_SIZE = 32;
const PF_RULE_LABEL_SIZE = 64;
const PF_RULE_MAX_LABEL_COUNT = 5;
const PF_TAG_NAME_SIZE = 64;

/**
 * parse.y's rulestate: each kind of line moves the parser to its section, and (with `require-order`, on by default in
 * FreeBSD) a line of an earlier section after a later one is refused by check_rulestate().
 */
const RuleState = { None: 0, Option: 1, Ether: 2, Scrub: 3, Queue: 4, Nat: 5, Filter: 6 } as const;
type RuleState = (typeof RuleState)[keyof typeof RuleState];
const ORDER_MESSAGE = 'Rules must be in order: options, ethernet, normalization, queueing, translation, filtering';

interface Token {
  text: string;
  quoted: boolean;
}

function tokenize(line: string, lineNo: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    if (c === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) throw new PfSyntaxError(lineNo, 'unterminated quoted string');
      tokens.push({ text: line.slice(i + 1, end), quoted: true });
      i = end + 1;
      continue;
    }
    if (c === '<') {
      const end = line.indexOf('>', i + 1);
      if (end < 0) throw new PfSyntaxError(lineNo, 'syntax error');
      tokens.push({ text: line.slice(i, end + 1), quoted: false });
      i = end + 1;
      continue;
    }
    if (line.startsWith('->', i)) {
      tokens.push({ text: '->', quoted: false });
      i += 2;
      continue;
    }
    if ('{}(),!='.includes(c)) {
      tokens.push({ text: c, quoted: false });
      i++;
      continue;
    }
    // parse.y's allowed_in_string(): alphanumerics and punctuation other than the grammar's own characters.
    let j = i;
    while (j < line.length && /[A-Za-z0-9_.:/*$+@^%&?~-]/.test(line[j] as string)) j++;
    if (j === i) throw new PfSyntaxError(lineNo, 'syntax error');
    tokens.push({ text: line.slice(i, j), quoted: false });
    i = j;
  }
  return tokens;
}

class Cursor {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    readonly line: number,
  ) {}
  peek(offset = 0): string | undefined {
    return this.tokens[this.i + offset]?.text;
  }
  peekToken(): Token | undefined {
    return this.tokens[this.i];
  }
  next(): string {
    const t = this.tokens[this.i++];
    if (!t) throw this.error();
    return t.text;
  }
  accept(text: string): boolean {
    if (this.peek() === text && !this.tokens[this.i]?.quoted) {
      this.i++;
      return true;
    }
    return false;
  }
  expect(text: string): void {
    if (!this.accept(text)) throw this.error();
  }
  done(): boolean {
    return this.i >= this.tokens.length;
  }
  error(message = 'syntax error'): PfSyntaxError {
    return new PfSyntaxError(this.line, message);
  }
}

export function parseRuleset(text: string, ctx: ParseContext): PfRuleset {
  const result: PfRuleset = { tables: [], filter: [], nat: [] };
  // Lines ending in a backslash continue on the next one (pf.conf(5)).
  const physical = text.split('\n');
  let rulestate: RuleState = RuleState.None;
  for (let n = 0; n < physical.length; n++) {
    let line = physical[n] as string;
    const lineNo = n + 1;
    while (line.endsWith('\\') && n + 1 < physical.length) line = line.slice(0, -1) + ' ' + physical[++n];
    const tokens = tokenize(line, lineNo);
    if (tokens.length === 0) continue;
    const cur = new Cursor(tokens, lineNo);
    const head = cur.peek();
    const enter = (state: RuleState): void => {
      if (state < rulestate) throw cur.error(ORDER_MESSAGE);
      rulestate = state;
    };
    if (head === 'table') parseTable(cur, result, ctx);
    else if (head === 'pass' || head === 'block') {
      enter(RuleState.Filter);
      result.filter.push(...parseFilterRule(cur, ctx));
    } else if (head === 'anchor') {
      enter(RuleState.Filter);
      result.filter.push(parseAnchorRule(cur, ctx));
    } else if (head === 'nat') {
      enter(RuleState.Nat);
      result.nat.push(...parseNatRule(cur, ctx));
    } else throw cur.error();
    if (!cur.done()) throw cur.error();
  }
  return result;
}

function parseTable(cur: Cursor, out: PfRuleset, ctx: ParseContext): void {
  cur.expect('table');
  const nameTok = cur.next();
  const m = /^<([^>]*)>$/.exec(nameTok);
  if (!m?.[1]) throw cur.error();
  const name = m[1];
  // parse.y tabledef / table_opt: the name's length, the option words, what an inline list may hold.
  if (name.length >= PF_TABLE_NAME_SIZE) throw cur.error(`table name too long, max ${PF_TABLE_NAME_SIZE - 1} chars`);
  if (out.tables.some((t) => t.name === name)) throw cur.error(`table <${name}> redefined`);
  const def: PfTableDef = { name, persist: false, constant: false, entries: [], line: cur.line };
  while (!cur.done() && cur.peek() !== '{') {
    const word = cur.next();
    if (word === 'persist') def.persist = true;
    else if (word === 'const') def.constant = true;
    else if (word !== 'counters') throw cur.error(`invalid table option '${word}'`);
  }
  if (cur.accept('{')) {
    while (!cur.accept('}')) {
      const host = parseHostAtom(cur, ctx);
      if (host.kind === 'addr') def.entries.push(host.cidr);
      else if (host.kind === 'iface' && !host.dynamic) {
        for (const a of ctx.interfaceAddresses(host.name)) def.entries.push(parseCidr(a)!);
      } else if (host.kind === 'iface') throw cur.error('dynamic addresses are not permitted inside tables');
      else if (host.kind === 'table') throw cur.error('tables cannot contain tables');
      else throw cur.error();
      if (cur.peek() !== '}') cur.expect(',');
    }
  }
  out.tables.push(def);
}

function parseAnchorRule(cur: Cursor, ctx: ParseContext): PfRule {
  cur.expect('anchor');
  const tok = cur.peekToken();
  if (!tok) throw cur.error();
  cur.next();
  const name = tok.text;
  // pf.conf(5) ANCHORS: names with "/" must be quoted (the lexer does not allow "/" in a bare string).
  if (!tok.quoted && name.includes('/')) throw cur.error();
  // parse.y anchorrule: a leading '_' in any path component is reserved (pfctl names inline anchors "_N").
  if (name.startsWith('_') || name.includes('/_'))
    throw cur.error("anchor names beginning with '_' are reserved for internal use");
  if (name.includes('*') && !(name === '*' || name.endsWith('/*'))) throw cur.error();
  if (name.includes('*') && !ctx.main)
    throw cur.error('wildcard anchor outside the main ruleset is not supported by this model');
  cur.accept('all');
  return {
    action: 'anchor',
    anchor: name,
    log: false,
    quick: false,
    from: { kind: 'any' },
    to: { kind: 'any' },
    keepState: false,
  };
}

function parseFilterRule(cur: Cursor, ctx: ParseContext): PfRule[] {
  const action = cur.next() as 'pass' | 'block';
  const rule: PfRule = {
    action,
    log: false,
    quick: false,
    from: { kind: 'any' },
    to: { kind: 'any' },
    keepState: action === 'pass',
  };
  if (action === 'block') {
    if (cur.accept('drop')) rule.blockPolicy = 'drop';
    else if (cur.accept('return')) rule.blockPolicy = 'return';
    else rule.blockPolicy = 'drop';
  }
  if (cur.accept('in')) rule.direction = 'in';
  else if (cur.accept('out')) rule.direction = 'out';
  if (cur.accept('log')) rule.log = true;
  if (cur.accept('quick')) rule.quick = true;
  if (cur.accept('on')) {
    if (cur.accept('!')) rule.ifaceNot = true;
    rule.iface = parseIfname(cur, ctx);
  }
  if (cur.accept('inet')) rule.af = 'inet';
  else if (cur.accept('inet6')) rule.af = 'inet6';
  const protos = parseProtos(cur);
  const hosts = parseHosts(cur, ctx);
  // Filter options, in any order.
  let natTo: PfRule['natTo'];
  let rdrTo: PfRule['rdrTo'];
  let icmp6Types: (number | undefined)[] = [undefined];
  // filter_opt markers (FOM_FLAGS, FOM_KEEP, FOM_ICMP): each may be given once.
  let flagsSeen = false;
  let keepSeen = false;
  let icmpSeen = false;
  let labels = 0;
  while (!cur.done()) {
    if (cur.accept('flags')) {
      if (flagsSeen) throw cur.error('flags cannot be redefined');
      flagsSeen = true;
      const f = cur.next();
      const m = /^([FSRPAUEW]*)\/([FSRPAUEW]+)$/.exec(f);
      if (f !== 'any' && !m) throw cur.error();
      // parse.y: the flags that must be set have to be inside the mask, or the rule never matches.
      if (m && [...(m[1] ?? '')].some((c) => !(m[2] ?? '').includes(c))) throw cur.error('flags always false');
      rule.flags = f;
    } else if (cur.peek() === 'keep' || cur.peek() === 'no') {
      if (keepSeen) throw cur.error('modulate or keep cannot be redefined');
      keepSeen = true;
      rule.keepState = cur.next() === 'keep';
      cur.expect('state');
    } else if (cur.accept('label')) {
      if (labels >= PF_RULE_MAX_LABEL_COUNT) throw cur.error(`label can only be used ${PF_RULE_MAX_LABEL_COUNT} times`);
      labels++;
      const tok = cur.peekToken();
      if (!tok) throw cur.error();
      cur.next();
      if (tok.text.length >= PF_RULE_LABEL_SIZE)
        throw cur.error(`rule label too long (max ${PF_RULE_LABEL_SIZE - 1} chars)`);
      rule.label ??= tok.text;
    } else if (cur.peek() === 'tag' || cur.peek() === 'tagged') {
      const which = cur.next();
      const tok = cur.peekToken();
      if (!tok) throw cur.error();
      cur.next();
      if (tok.text.length >= PF_TAG_NAME_SIZE) throw cur.error(`tag too long, max ${PF_TAG_NAME_SIZE - 1} chars`);
      if (!/^[A-Za-z0-9_.-]+$/.test(tok.text)) throw cur.error(`invalid tag name ${tok.text}`);
      if (which === 'tag') rule.tag = tok.text;
      else rule.tagged = tok.text;
    } else if (cur.accept('icmp6-type')) {
      if (icmpSeen) throw cur.error('icmp-type cannot be redefined');
      icmpSeen = true;
      const one = (): number => {
        const t = cur.next();
        const n = /^\d+$/.test(t) ? Number(t) : ICMP6_TYPES[t];
        if (n === undefined || n > 255) throw cur.error(`unknown icmp6-type ${t}`);
        return n;
      };
      if (cur.accept('{')) {
        icmp6Types = [];
        do icmp6Types.push(one());
        while (cur.accept(','));
        cur.expect('}');
      } else icmp6Types = [one()];
    } else if (cur.accept('dnpipe')) {
      const n = cur.next();
      // Stricter than pfctl: parse.y (@ 8a8af942, filter_opt DNPIPE) stores the number in a u_int16_t unchecked, so
      // 65536 would silently become pipe 0; the model refuses what would not mean what it says.
      if (!/^\d+$/.test(n) || Number(n) < 1 || Number(n) > 65535) throw cur.error('illegal dummynet pipe number');
      rule.dnpipe = Number(n);
    } else if (cur.accept('rdr-to')) {
      const host = parseHostAtom(cur, ctx);
      const port = cur.accept('port') ? parsePortNumber(cur) : undefined;
      rdrTo = port === undefined ? { host } : { host, port };
    } else if (cur.accept('nat-to')) {
      natTo = { host: parseHostAtom(cur, ctx) };
    } else throw cur.error();
  }
  // filter_consistent(): state is kept by pass rules only.
  if (action !== 'pass' && rule.keepState) throw cur.error('keep state is great, but only for pass rules');
  // filter_consistent(): translation options are for pass/match rules, need a state (the translation lives in it;
  // match rules aside, which this model does not parse) and each works in one direction only.
  if (rdrTo || natTo) {
    if (action !== 'pass') throw cur.error('nat-to and rdr-to are only valid with pass and match rules');
    if (!rule.keepState) throw cur.error('nat-to and rdr-to require keep state');
    if (!rule.direction) throw cur.error('nat-to and rdr-to require a direction');
    // Stricter than OpenBSD's current parse.y (1.719), which dropped these two in favour of "require a direction";
    // the model's evaluator translates only rdr-to inbound and nat-to outbound, so it refuses the rest.
    if (rdrTo && rule.direction !== 'in') throw cur.error('rdr-to can only be used inbound');
    if (natTo && rule.direction !== 'out') throw cur.error('nat-to can only be used outbound');
  }
  if (icmp6Types[0] !== undefined && !(protos.length === 1 && protos[0] === 'icmp6')) {
    throw cur.error('icmp6-type only applies to proto icmp6');
  }
  const rules: PfRule[] = [];
  hosts.from = expandSelf(hosts.from, ctx);
  hosts.to = expandSelf(hosts.to, ctx);
  for (const proto of protos) {
    for (const from of hosts.from) {
      for (const fromPort of hosts.fromPorts) {
        for (const to of hosts.to) {
          for (const toPort of hosts.toPorts) {
            if ((fromPort !== undefined || toPort !== undefined) && proto !== 'tcp' && proto !== 'udp') {
              throw cur.error('port only applies to tcp/udp');
            }
            if (rule.flags && rule.flags !== 'any' && proto !== undefined && proto !== 'tcp')
              throw cur.error('flags only apply to tcp');
            const r: PfRule = { ...rule, from, to };
            if (proto !== undefined) r.proto = proto;
            if (fromPort !== undefined) r.fromPort = fromPort;
            if (toPort !== undefined) r.toPort = toPort;
            if (rdrTo) r.rdrTo = rdrTo;
            if (natTo) r.natTo = natTo;
            for (const t of icmp6Types) {
              const withType: PfRule = t === undefined ? { ...r } : { ...r, icmp6Type: t, af: 'inet6' };
              if (familiesAgree(withType)) rules.push(withType);
            }
          }
        }
      }
    }
  }
  // parse.y expand_rule(): combinations of mismatched families are skipped; none left is an error.
  if (rules.length === 0) throw cur.error('rule expands to no valid combination');
  return rules;
}

function expandSelf(list: PfHost[], ctx: ParseContext): PfHost[] {
  return list.flatMap((h) =>
    h.kind === 'self' ? ctx.selfAddresses().map((a): PfHost => ({ kind: 'addr', cidr: parseCidr(a)! })) : [h],
  );
}

function hostFamily(h: PfHost): Family | undefined {
  return h.kind === 'addr' ? h.cidr.family : undefined;
}

/** Whether a rule's addresses (and its af keyword) can share one address family; sets af from them. */
function familiesAgree(r: PfRule): boolean {
  const fams = [hostFamily(r.from), hostFamily(r.to), r.rdrTo && hostFamily(r.rdrTo.host)].filter(
    (f): f is Family => !!f,
  );
  if (r.af) fams.push(r.af);
  if (new Set(fams).size > 1) return false;
  if (fams.length > 0 && !r.af) r.af = fams[0];
  return true;
}

function parseNatRule(cur: Cursor, ctx: ParseContext): PfRule[] {
  cur.expect('nat');
  cur.expect('on');
  const iface = parseIfname(cur, ctx);
  const rule: PfRule = {
    action: 'nat',
    log: false,
    quick: false,
    iface,
    from: { kind: 'any' },
    to: { kind: 'any' },
    keepState: true,
  };
  if (cur.accept('inet')) rule.af = 'inet';
  else if (cur.accept('inet6')) rule.af = 'inet6';
  const hosts = parseHosts(cur, ctx);
  cur.expect('->');
  const target = parseHostAtom(cur, ctx);
  const rules: PfRule[] = [];
  for (const from of expandSelf(hosts.from, ctx)) {
    for (const to of expandSelf(hosts.to, ctx)) {
      const r: PfRule = { ...rule, from, to, natTarget: target };
      if (familiesAgree(r)) rules.push(r);
    }
  }
  if (rules.length === 0) throw cur.error('rule expands to no valid combination');
  return rules;
}

function parseIfname(cur: Cursor, ctx: ParseContext): string {
  const name = cur.next();
  if (!/^[A-Za-z][A-Za-z0-9_.-]*$/.test(name) || name.length >= 16) throw cur.error();
  // pf accepts interfaces that do not exist yet (they may appear later), so any well-formed name is fine here.
  void ctx;
  return name;
}

function parseProtos(cur: Cursor): (string | undefined)[] {
  if (!cur.accept('proto')) return [undefined];
  const one = (): string => {
    const p = cur.next();
    if (!PROTOCOLS.has(p)) throw cur.error(`unknown protocol ${p}`);
    return p;
  };
  if (!cur.accept('{')) return [one()];
  const list: string[] = [];
  do list.push(one());
  while (cur.accept(','));
  cur.expect('}');
  return list;
}

interface Hosts {
  from: PfHost[];
  fromPorts: (number | undefined)[];
  to: PfHost[];
  toPorts: (number | undefined)[];
}

function parseHosts(cur: Cursor, ctx: ParseContext): Hosts {
  const hosts: Hosts = { from: [{ kind: 'any' }], fromPorts: [undefined], to: [{ kind: 'any' }], toPorts: [undefined] };
  if (cur.accept('all')) return hosts;
  let seen = false;
  if (cur.accept('from')) {
    seen = true;
    hosts.from = parseHostList(cur, ctx);
    if (cur.accept('port')) hosts.fromPorts = parsePorts(cur);
  }
  if (cur.accept('to')) {
    seen = true;
    hosts.to = parseHostList(cur, ctx);
    if (cur.accept('port')) hosts.toPorts = parsePorts(cur);
  }
  void seen;
  return hosts;
}

function parseHostList(cur: Cursor, ctx: ParseContext): PfHost[] {
  if (!cur.accept('{')) return [parseHostAtom(cur, ctx)];
  const list: PfHost[] = [];
  do list.push(parseHostAtom(cur, ctx));
  while (cur.accept(','));
  cur.expect('}');
  return list;
}

function parseHostAtom(cur: Cursor, ctx: ParseContext): PfHost {
  if (cur.peek() === '!') throw cur.error('negation is outside the subset this model accepts');
  if (cur.accept('any')) return { kind: 'any' };
  if (cur.accept('self')) return { kind: 'self' };
  if (cur.accept('(')) {
    const name = parseIfname(cur, ctx);
    cur.expect(')');
    return { kind: 'iface', name, dynamic: true };
  }
  const tok = cur.next();
  const table = /^<([^>]+)>$/.exec(tok);
  if (table?.[1]) {
    if (table[1].length >= PF_TABLE_NAME_SIZE) throw cur.error('table name too long');
    return { kind: 'table', name: table[1] };
  }
  const cidr = parseCidr(tok);
  if (cidr) return { kind: 'addr', cidr };
  const address = tok.split('/')[0] ?? '';
  if (familyOf(address)) throw cur.error(`invalid netmask '${tok}'`);
  if (ctx.interfaceExists(tok)) return { kind: 'iface', name: tok, dynamic: false };
  // A bare word is a host name to resolve; the model has no DNS, like a host whose resolver cannot answer.
  throw cur.error(`no IP address found for ${tok}`);
}

function parsePorts(cur: Cursor): number[] {
  if (!cur.accept('{')) return [parsePortNumber(cur)];
  const list: number[] = [];
  do list.push(parsePortNumber(cur));
  while (cur.accept(','));
  cur.expect('}');
  return list;
}

function parsePortNumber(cur: Cursor): number {
  cur.accept('=');
  const tok = cur.next();
  if (/^\d+$/.test(tok)) {
    const n = Number(tok);
    if (n > 65535) throw cur.error(`illegal port value ${tok}`);
    return n;
  }
  const named = SERVICES[tok];
  if (named === undefined) throw cur.error(`unknown port ${tok}`);
  return named;
}
