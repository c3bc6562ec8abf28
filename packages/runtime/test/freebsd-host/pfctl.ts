import { getopt } from './getopt.ts';
import { readFile } from './fs.ts';
import { type FreeBsdHost, ToolFailure, type ToolOutput } from './host.ts';
import { type Cidr, addressToBigInt, cidrKey, familyOf, formatCidr, parseCidr } from './inet.ts';
import { interfaceAddresses, netState } from './netif.ts';
import { PfSyntaxError, parseRuleset } from './pf-grammar.ts';
import {
  type PfKernel,
  type PfKernelRuleset,
  type PfState,
  type PfTable,
  anchorPaths,
  emptyRuleset,
  entryMap,
  pfKernel,
  printRule,
  pruneEmpty,
  sortedEntries,
  tableEntryCount,
} from './pf-kernel.ts';

/**
 * pfctl(8) for the model. Options are parsed with pfctl's getopt string; -s, -F and -T take the abbreviations
 * pfctl_lookup_option() allows. Supported: -e, -d, -a ANCHOR, -f FILE|-, -F MODIFIER, -s MODIFIER (rules, nat,
 * Anchors, states, info, memory, Tables), -t TABLE -T add|delete|replace|show|flush|kill [-f FILE] [ADDR...],
 * -k (host/network, label, id), -P (numeric ports), -q, -v. Errors print like pfctl and change nothing.
 */
const OPTSTRING = 'a:AdD:eqf:F:ghi:k:K:mMnNOo:Pp:rRs:St:T:vx:z';
const SHOW = [
  'ether',
  'nat',
  'queue',
  'rules',
  'Anchors',
  'Sources',
  'states',
  'info',
  'Interfaces',
  'labels',
  'timeouts',
  'memory',
  'Tables',
  'osfp',
  'Running',
  'all',
  'creatorids',
];
const CLEAR = ['nat', 'queue', 'rules', 'Sources', 'states', 'info', 'Tables', 'osfp', 'all', 'ethernet', 'Reset'];
const TBLCMD = ['kill', 'flush', 'add', 'delete', 'load', 'replace', 'show', 'test', 'zero', 'expire', 'reset'];
const MODEL_SHOW = new Set(['nat', 'rules', 'Anchors', 'states', 'info', 'memory', 'Tables', 'Running']);
const MODEL_CLEAR = new Set(['nat', 'rules', 'states', 'Tables', 'all']);
const MODEL_TBLCMD = new Set(['kill', 'flush', 'add', 'delete', 'replace', 'show']);
const MAXPATHLEN = 1024;

interface Options {
  anchor: string;
  enable: boolean;
  disable: boolean;
  file?: string;
  flush?: string;
  show?: string;
  table?: string;
  tableCmd?: string;
  kill: string[];
  numeric: boolean;
  quiet: boolean;
  verbose: number;
  positional: string[];
}

export function registerPfctl(host: FreeBsdHost): void {
  host.register('pfctl', (h, args, input) => pfctl(h, args, input));
}

function parseCommandLine(args: string[]): Options {
  const o: Options = {
    anchor: '',
    enable: false,
    disable: false,
    kill: [],
    numeric: false,
    quiet: false,
    verbose: 0,
    positional: [],
  };
  const errors = {
    illegal: (c: string) => new ToolFailure(`illegal option -- ${c}\n${usage()}`),
    missingArgument: (c: string) => new ToolFailure(`option requires an argument -- ${c}\n${usage()}`),
  };
  o.positional = getopt(args, OPTSTRING, errors, (c, value) => {
    switch (c) {
      case 'a':
        o.anchor = value!;
        break;
      case 'e':
        o.enable = true;
        break;
      case 'd':
        o.disable = true;
        break;
      case 'f':
        o.file = value!;
        break;
      case 'F':
        o.flush = lookup(value!, CLEAR, 'flush');
        break;
      case 's':
        o.show = lookup(value!, SHOW, 'show');
        break;
      case 't':
        o.table = value!;
        break;
      case 'T':
        o.tableCmd = lookup(value!, TBLCMD, 'table command');
        break;
      case 'k':
        if (o.kill.length >= 2) throw new ToolFailure('can only specify -k twice');
        o.kill.push(value!);
        break;
      case 'P':
        o.numeric = true;
        break;
      case 'q':
        o.quiet = true;
        break;
      case 'v':
        o.verbose++;
        break;
      default:
        throw new ToolFailure(`-${c} is not supported by the host model`);
    }
  });
  return o;
}

function usage(): string {
  return 'usage: pfctl [-AdeghMmNnOPqRSrvz] [-a anchor] [-D macro=value] [-F modifier]\n\t[-f file] [-i interface] [-K host | network]\n\t[-k host | network | gateway | label | id] [-o level] [-p device]\n\t[-s modifier] [-t table -T command [address ...]] [-x level]';
}

/** pfctl_lookup_option(): an unambiguous prefix selects the option. */
function lookup(value: string, list: string[], what: string): string {
  const hits = list.filter((o) => o.startsWith(value));
  if (hits.length !== 1 && !list.includes(value))
    throw new ToolFailure(`Unknown ${what} modifier '${value}'\n${usage()}`);
  return list.includes(value) ? value : (hits[0] as string);
}

function checkAnchor(anchor: string): string {
  if (anchor.length >= MAXPATHLEN) throw new ToolFailure('anchor name too long');
  if (/[\s"\\]/.test(anchor)) throw new ToolFailure(`invalid anchor name '${anchor}'`);
  return anchor.replace(/^\/+|\/+$/g, '');
}

function pfctl(host: FreeBsdHost, args: string[], input: string): ToolOutput {
  if (args.length === 0) throw new ToolFailure(usage());
  const o = parseCommandLine(args);
  const k = pfKernel(host);
  const anchor = checkAnchor(o.anchor);
  const out: string[] = [];
  const err: string[] = [];
  const note = (s: string) => {
    if (!o.quiet) err.push(s);
  };
  if (o.positional.length > 0 && !o.tableCmd) throw new ToolFailure(usage());
  if ((o.table === undefined) !== (o.tableCmd === undefined)) throw new ToolFailure(usage());

  if (o.enable && o.disable) throw new ToolFailure(usage());
  if (o.disable) {
    if (!k.enabled) throw new ToolFailure('pf not enabled');
    k.enabled = false;
    note('pf disabled');
  }
  if (o.flush) flush(k, anchor, o.flush, note);
  if (o.kill.length > 0) killStates(host, k, o.kill, note);
  if (o.file !== undefined && !o.tableCmd)
    load(host, k, anchor, o.file === '-' ? input : fileContent(host, o.file), o.file, note);
  if (o.enable) {
    if (k.enabled) throw new ToolFailure('pf already enabled');
    k.enabled = true;
    note('pf enabled');
  }
  if (o.tableCmd) tableCommand(host, k, anchor, o, input, out, note);
  if (o.show) {
    const shown = show(host, k, anchor, o);
    out.push(shown.stdout);
    if (shown.code)
      return {
        stdout: out.join(''),
        stderr: err.map((l) => `${l}\n`).join('') + (shown.stderr ?? ''),
        code: shown.code,
      };
  }
  return { stdout: out.join(''), stderr: err.map((l) => `${l}\n`).join('') };
}

function fileContent(host: FreeBsdHost, path: string): string {
  const c = readFile(host, path);
  if (c === undefined) throw new ToolFailure(`cannot open the main config file!: No such file or directory`);
  return c;
}

function ruleset(k: PfKernel, anchor: string, create: boolean): PfKernelRuleset | undefined {
  let rs = k.rulesets.get(anchor);
  if (!rs && create) {
    rs = emptyRuleset();
    k.rulesets.set(anchor, rs);
  }
  return rs;
}

function flush(k: PfKernel, anchor: string, what: string, note: (s: string) => void): void {
  if (!MODEL_CLEAR.has(what)) throw new ToolFailure(`-F ${what} is not supported by the host model`);
  const rs = k.rulesets.get(anchor);
  const doRules = what === 'rules' || what === 'all';
  const doNat = what === 'nat' || what === 'all';
  const doTables = what === 'Tables' || what === 'all';
  if (doRules) {
    if (rs) rs.filter = [];
    note('rules cleared');
  }
  if (doNat) {
    if (rs) rs.nat = [];
    note('nat cleared');
  }
  if (doTables) {
    const n = rs?.tables.size ?? 0;
    rs?.tables.clear();
    note(`${n} tables deleted.`);
  }
  // pfctl -F all flushes the states (and the rest of the global state) only for the main ruleset.
  if (what === 'states' || (what === 'all' && anchor === '')) {
    note(`${k.states.length} states cleared`);
    k.states = [];
  }
  pruneEmpty(k);
}

function load(
  host: FreeBsdHost,
  k: PfKernel,
  anchor: string,
  text: string,
  file: string,
  note: (s: string) => void,
): void {
  const net = netState(host);
  let parsed;
  try {
    parsed = parseRuleset(text, {
      main: anchor === '',
      interfaceExists: (n) => net.interfaces.get(n)?.vnet === null,
      interfaceAddresses: (n) => interfaceAddresses(net, n),
      selfAddresses: () =>
        [...net.interfaces.values()].filter((i) => i.vnet === null).flatMap((i) => i.addresses.map((a) => a.address)),
    });
  } catch (e) {
    if (e instanceof PfSyntaxError) {
      const where = file === '-' ? 'stdin' : file;
      throw new ToolFailure(
        `${e.message.replace(/^stdin/, where)}\npfctl: Syntax error in config file: pf rules not loaded`,
      );
    }
    throw e;
  }
  // One transaction (DIOCXBEGIN/DIOCXCOMMIT): check every limit before touching the kernel.
  const existing = k.rulesets.get(anchor);
  const tables = new Map<string, PfTable>(existing?.tables ?? []);
  for (const t of parsed.tables) {
    tables.set(t.name, { entries: entryMap(t.entries), persist: t.persist, constant: t.constant });
  }
  const next: PfKernelRuleset = { filter: parsed.filter, nat: parsed.nat, tables };
  const trial = new Map(k.rulesets);
  trial.set(anchor, next);
  const trialKernel = { ...k, rulesets: trial };
  if (anchorPaths(trialKernel).length > k.limits.anchors) throw new ToolFailure('DIOCXBEGIN: Cannot allocate memory');
  if (tableEntryCount(trialKernel) > k.limits['table-entries'])
    throw new ToolFailure('DIOCRADDTABLES: Cannot allocate memory');
  k.rulesets.set(anchor, next);
  pruneEmpty(k);
  void note;
}

function readAddresses(host: FreeBsdHost, o: Options, input: string): string[] {
  const list = [...o.positional];
  if (o.file !== undefined) {
    // pfr_buf_load(): whitespace-separated words; "#" and ";" start comments; "-" is standard input.
    const text = o.file === '-' ? input : fileContent(host, o.file);
    for (const line of text.split('\n')) {
      const body = line.replace(/[#;].*$/, '');
      list.push(...body.split(/[\s,]+/).filter(Boolean));
    }
  }
  return list;
}

function parseAddresses(host: FreeBsdHost, words: string[]): Cidr[] {
  const net = netState(host);
  const result: Cidr[] = [];
  for (const w of words) {
    const c = parseCidr(w);
    if (c) {
      result.push(c);
      continue;
    }
    const [address] = w.split('/');
    if (address && familyOf(address)) throw new ToolFailure(`${w}: Invalid argument.`);
    const iface = net.interfaces.get(w);
    if (iface && iface.vnet === null) {
      for (const a of iface.addresses) result.push(parseCidr(a.address)!);
      continue;
    }
    throw new ToolFailure(`${w}: hostname nor servname provided, or not known`);
  }
  return result;
}

function tableCommand(
  host: FreeBsdHost,
  k: PfKernel,
  anchor: string,
  o: Options,
  input: string,
  out: string[],
  note: (s: string) => void,
): void {
  const cmd = o.tableCmd as string;
  const name = o.table as string;
  if (!MODEL_TBLCMD.has(cmd)) throw new ToolFailure(`-T ${cmd} is not supported by the host model`);
  if (name.length >= 32 || !/^[A-Za-z0-9_.-]+$/.test(name)) throw new ToolFailure(`invalid table name '${name}'`);
  const existing = k.rulesets.get(anchor)?.tables.get(name);
  if (cmd === 'show') {
    if (!existing) throw new ToolFailure('Table does not exist.');
    for (const c of sortedEntries(existing)) out.push(`   ${formatCidr(c)}\n`);
    return;
  }
  if (cmd === 'kill') {
    if (!existing) throw new ToolFailure('Table does not exist.');
    k.rulesets.get(anchor)!.tables.delete(name);
    pruneEmpty(k);
    note('1 table deleted.');
    return;
  }
  if (cmd === 'flush') {
    if (!existing) throw new ToolFailure('Table does not exist.');
    if (existing.constant) throw new ToolFailure('Operation not permitted.');
    const n = existing.entries.size;
    existing.entries.clear();
    note(`${n} addresses deleted.`);
    return;
  }
  // Addresses are all parsed before the kernel is touched: one bad word and nothing changes.
  const cidrs = parseAddresses(host, readAddresses(host, o, input));
  if (cmd === 'delete') {
    if (!existing) throw new ToolFailure('Table does not exist.');
    if (existing.constant) throw new ToolFailure('Operation not permitted.');
    let n = 0;
    for (const c of cidrs) if (existing.entries.delete(cidrKey(c))) n++;
    note(`${n}/${cidrs.length} addresses deleted.`);
    return;
  }
  // add and replace create a persistent table when it is missing (pfctl(8) -T add / -T replace).
  if (existing?.constant) throw new ToolFailure('Operation not permitted.');
  const current = existing?.entries ?? new Map<string, Cidr>();
  const after = cmd === 'add' ? new Map([...current, ...entryMap(cidrs)]) : entryMap(cidrs);
  const before = tableEntryCount(k);
  if (before - current.size + after.size > k.limits['table-entries']) throw new ToolFailure('Cannot allocate memory.');
  if (!existing && !k.rulesets.has(anchor) && anchorPaths(k).length + 1 > k.limits.anchors) {
    throw new ToolFailure('Cannot allocate memory.');
  }
  const added = [...after.keys()].filter((key) => !current.has(key)).length;
  const deleted = [...current.keys()].filter((key) => !after.has(key)).length;
  const rs = ruleset(k, anchor, true)!;
  if (existing) existing.entries = after;
  else rs.tables.set(name, { entries: after, persist: true, constant: false });
  if (!existing) note('1 table created.');
  if (cmd === 'add') note(`${added}/${cidrs.length} addresses added.`);
  else {
    if (added) note(`${added} addresses added.`);
    if (deleted) note(`${deleted} addresses deleted.`);
    if (!added && !deleted) note('no changes.');
  }
}

function hostSpecMatches(spec: string, address: string | undefined): boolean {
  if (address === undefined) return false;
  const [a = '', p] = spec.split('/');
  const fam = familyOf(a);
  if (!fam) throw new ToolFailure(`getaddrinfo: hostname nor servname provided, or not known`);
  const max = fam === 'inet' ? 32 : 128;
  const prefix = p === undefined ? max : Number(p);
  if (!(prefix >= 0 && prefix <= max) || (p !== undefined && !/^\d+$/.test(p)))
    throw new ToolFailure(`prefix is invalid: ${p}`);
  if (familyOf(address) !== fam) return false;
  const shift = BigInt(max - prefix);
  return addressToBigInt(a) >> shift === addressToBigInt(address) >> shift;
}

function killStates(host: FreeBsdHost, k: PfKernel, kill: string[], note: (s: string) => void): void {
  void host;
  const [first, second] = kill;
  if (first === 'label' || first === 'id' || first === 'key' || first === 'gateway' || first === 'nat') {
    if (second === undefined) throw new ToolFailure(`-k ${first} requires a second -k argument`);
    let doomed: PfState[];
    if (first === 'label') doomed = k.states.filter((s) => s.label === second);
    else if (first === 'id') {
      const id = second.split('/')[0] ?? '';
      if (!/^[0-9a-fA-F]{1,16}$/.test(id)) throw new ToolFailure(`invalid id: ${second}`);
      doomed = k.states.filter((s) => BigInt(`0x${s.id}`) === BigInt(`0x${id}`));
    } else throw new ToolFailure(`-k ${first} is not supported by the host model`);
    k.states = k.states.filter((s) => !doomed.includes(s));
    note(`killed ${doomed.length} states`);
    return;
  }
  const doomed = k.states.filter(
    (s) =>
      hostSpecMatches(first as string, s.src) &&
      (second === undefined || hostSpecMatches(second, s.dst) || hostSpecMatches(second, s.rdr?.dst)),
  );
  k.states = k.states.filter((s) => !doomed.includes(s));
  note(`killed ${doomed.length} states from 1 sources and ${second === undefined ? 0 : 1} destinations`);
}

function show(
  host: FreeBsdHost,
  k: PfKernel,
  anchor: string,
  o: Options,
): { stdout: string; code?: number; stderr?: string } {
  const what = o.show as string;
  if (!MODEL_SHOW.has(what)) throw new ToolFailure(`-s ${what} is not supported by the host model`);
  switch (what) {
    case 'rules':
    case 'nat': {
      const recursive = anchor === '*' || anchor.endsWith('/*');
      if (recursive) throw new ToolFailure('recursive printing is not supported by the host model');
      const rs = k.rulesets.get(anchor);
      if (!rs && anchor !== '' && !anchorPaths(k).includes(anchor)) throw new ToolFailure(`Anchor does not exist.`);
      const list = what === 'rules' ? (rs?.filter ?? []) : (rs?.nat ?? []);
      return { stdout: list.map((r) => `${printRule(r, o.numeric)}\n`).join('') };
    }
    case 'Anchors': {
      // pfctl_walk_anchors() (pfctl.c) walks every anchor below the target, depth first, and prints "  path";
      // names starting with "_" only with -v; a missing target is "Anchor 'X' not found.".
      const paths = anchorPaths(k);
      const prefix = anchor ? `${anchor}/` : '';
      if (anchor && !paths.includes(anchor)) return { stdout: '', code: 1, stderr: `Anchor '${anchor}' not found.\n` };
      const below = paths.filter(
        (p) => p.startsWith(prefix) && (o.verbose > 0 || !p.split('/').pop()!.startsWith('_')),
      );
      return { stdout: below.map((p) => `  ${p}\n`).join('') };
    }
    case 'Tables': {
      const rs = k.rulesets.get(anchor);
      return {
        stdout: [...(rs?.tables.keys() ?? [])]
          .sort()
          .map((t) => `${t}\n`)
          .join(''),
      };
    }
    case 'states':
      return { stdout: k.states.map((s) => `${formatState(s)}\n`).join('') };
    case 'memory': {
      const rows = Object.entries(k.limits).map(
        ([name, v]) => `${name.padEnd(13)} hard limit ${String(v).padStart(8)}\n`,
      );
      return { stdout: rows.join('') };
    }
    case 'Running':
      return { stdout: k.enabled ? 'Enabled\n' : 'Disabled\n', code: k.enabled ? 0 : 1 };
    case 'info': {
      const status = `Status: ${k.enabled ? 'Enabled' : 'Disabled'} for 0 days 00:00:00           Debug: Urgent\n\n`;
      const table = `State Table                          Total             Rate\n  current entries                 ${String(k.states.length).padStart(8)}               \n  searches                               0            0.0/s\n  inserts                         ${String(k.states.length).padStart(8)}            0.0/s\n  removals                               0            0.0/s\nCounters\n  match                                  0            0.0/s\n`;
      void host;
      return { stdout: status + table };
    }
    default:
      throw new ToolFailure(`-s ${what} is not supported by the host model`);
  }
}

/** One line of `pfctl -ss`: IPv6 ports in brackets, inbound states printed "dst <- src" (pf_print_state.c). */
export function formatState(s: PfState): string {
  const hp = (a: string, p: number) => (s.af === 'inet' ? `${a}:${p}` : `${a}[${p}]`);
  const states = s.proto === 'tcp' ? 'ESTABLISHED:ESTABLISHED' : 'MULTIPLE:SINGLE';
  const pair =
    s.direction === 'out'
      ? `${hp(s.src, s.sport)} -> ${hp(s.dst, s.dport)}`
      : s.rdr
        ? `${hp(s.rdr.dst, s.rdr.dport)} (${hp(s.dst, s.dport)}) <- ${hp(s.src, s.sport)}`
        : `${hp(s.dst, s.dport)} <- ${hp(s.src, s.sport)}`;
  return `all ${s.proto} ${pair}       ${states}`;
}
