/**
 * Parsers for what pfctl(8) prints. Tolerant of spacing and of the variants pfctl uses (service names or numbers
 * for ports with or without -P, IPv6 ports as `addr[port]`), strict about what they return: only well-formed
 * values come out; anything unrecognised is skipped, never guessed.
 */

/** `pfctl [-a ANCHOR] -sA`: one anchor path per line, indented by two spaces. */
export function parseAnchors(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !/\s/.test(l));
}

/** `pfctl -a ANCHOR -t TABLE -T show`: one address or network per line (indented; "!" marks a negated entry). */
export function parseTableShow(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^!?[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(l));
}

/** `pfctl -a ANCHOR -sT`: table names, one a line. */
export function parseTableNames(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[A-Za-z0-9_.-]+$/.test(l));
}

/** `pfctl -sm`: "NAME hard limit N" lines. */
export function parseLimits(stdout: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of stdout.split('\n')) {
    const m = /^\s*([a-z-]+)\s+hard limit\s+(\d+)\s*$/.exec(line);
    if (m?.[1] && m[2]) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** `pfctl -s info`: whether pf is enabled and how many states it holds. */
export function parseInfo(stdout: string): { enabled: boolean; stateEntries?: number } {
  const status = /^Status:\s+(Enabled|Disabled)\b/m.exec(stdout);
  const entries = /^\s*current entries\s+(\d+)/m.exec(stdout);
  const info: { enabled: boolean; stateEntries?: number } = { enabled: status?.[1] === 'Enabled' };
  if (entries?.[1]) info.stateEntries = Number(entries[1]);
  return info;
}

export interface PfEndpoint {
  address: string;
  port: number;
}

export interface PfStateLine {
  interface: string;
  protocol: string;
  /** The connection's initiator. */
  source: PfEndpoint;
  /** Where the initiator sent it (before any rdr-to). */
  destination: PfEndpoint;
  /** Where it really goes (after rdr-to); equal to destination without translation. */
  target: PfEndpoint;
}

function parseHostPort(text: string): PfEndpoint | undefined {
  const v6 = /^([0-9a-fA-F:.]+)\[(\d+)\]$/.exec(text);
  if (v6?.[1] && v6[2]) return { address: v6[1], port: Number(v6[2]) };
  const v4 = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text);
  if (v4?.[1] && v4[2]) return { address: v4[1], port: Number(v4[2]) };
  // ICMP states print an address without a port (or with an id after ":").
  if (/^[0-9a-fA-F:.]+$/.test(text)) return { address: text, port: 0 };
  return undefined;
}

/**
 * `pfctl -ss`: "IF PROTO A -> B STATE" for outbound states, "IF PROTO B <- A STATE" for inbound ones, with the
 * pre-translation address in parentheses after the translated one, e.g.
 * `all tcp 10.77.0.5:80 (192.0.2.10:8080) <- 198.51.100.7:5555       ESTABLISHED:ESTABLISHED`.
 */
export function parseStates(stdout: string): PfStateLine[] {
  const out: PfStateLine[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\S+)\s+(\S+)\s+(\S+)(?:\s+\((\S+)\))?\s+(->|<-)\s+(\S+)(?:\s+\((\S+)\))?\s/.exec(`${line} `);
    if (!m) continue;
    const [, iface, proto, left, leftOrig, arrow, right, rightOrig] = m;
    if (arrow === '<-') {
      const target = parseHostPort(left!);
      const destination = leftOrig ? parseHostPort(leftOrig) : target;
      const source = parseHostPort(right!);
      if (target && destination && source)
        out.push({ interface: iface!, protocol: proto!, source, destination, target });
    } else {
      const source = parseHostPort(left!);
      const target = parseHostPort(right!);
      const destination = rightOrig ? parseHostPort(rightOrig) : target;
      void leftOrig;
      if (target && destination && source)
        out.push({ interface: iface!, protocol: proto!, source, destination, target });
    }
  }
  return out;
}

/** One rule as `pfctl -sr` prints it, reduced to what cubenet reads back. */
export interface PfRuleLine {
  action: 'pass' | 'block' | 'anchor' | 'match' | 'nat' | 'rdr';
  direction?: 'in' | 'out';
  quick: boolean;
  interface?: string;
  interfaceNegated?: boolean;
  family?: 'inet' | 'inet6';
  protocol?: string;
  from: string;
  to: string;
  toPort?: string;
  label?: string;
  /** `tag NAME` (the rule marks what it passes) and `tagged NAME` (it matches only what carries that mark). */
  tag?: string;
  tagged?: string;
  rdrTo?: { address: string; port?: number };
  anchor?: string;
}

function tokens(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] !== undefined ? `"${m[1]}"` : (m[2] as string));
  return out;
}

/** `pfctl -a ANCHOR -sr` (and -sn): one rule per line. */
export function parseRules(stdout: string): PfRuleLine[] {
  const out: PfRuleLine[] = [];
  for (const line of stdout.split('\n')) {
    const t = tokens(line.trim());
    const head = t[0];
    if (
      head !== 'pass' &&
      head !== 'block' &&
      head !== 'anchor' &&
      head !== 'match' &&
      head !== 'nat' &&
      head !== 'rdr'
    )
      continue;
    const rule: PfRuleLine = { action: head, quick: false, from: 'any', to: 'any' };
    let i = 1;
    if (head === 'anchor') {
      rule.anchor = (t[1] ?? '').replace(/^"|"$/g, '');
      out.push(rule);
      continue;
    }
    if (head === 'block' && (t[i] === 'drop' || t[i] === 'return')) i++;
    let side: 'from' | 'to' | undefined;
    for (; i < t.length; i++) {
      const w = t[i] as string;
      const next = t[i + 1];
      if (w === 'in' || w === 'out') rule.direction = w;
      else if (w === 'quick') rule.quick = true;
      else if (w === 'on') {
        if (next === '!') {
          rule.interfaceNegated = true;
          i++;
        }
        rule.interface = t[++i];
      } else if (w === 'inet' || w === 'inet6') rule.family = w;
      else if (w === 'proto') rule.protocol = t[++i];
      else if (w === 'all') continue;
      else if (w === 'from') {
        side = 'from';
        rule.from = t[++i] ?? 'any';
      } else if (w === 'to') {
        side = 'to';
        rule.to = t[++i] ?? 'any';
      } else if (w === 'port' && t[i + 1] === '=' && side !== undefined) {
        if (side === 'to') rule.toPort = t[i + 2];
        i += 2;
        side = undefined;
      } else if (w === 'label') rule.label = (next ?? '').replace(/^"|"$/g, '');
      else if ((w === 'tag' || w === 'tagged') && next) rule[w] = t[++i];
      else if (w === 'rdr-to' && next) {
        rule.rdrTo = { address: next };
        i++;
        if (t[i + 1] === 'port' && /^\d+$/.test(t[i + 2] ?? '')) {
          rule.rdrTo.port = Number(t[i + 2]);
          i += 2;
        }
      }
    }
    out.push(rule);
  }
  return out;
}

/** The /etc/services names pfctl prints for the ports cubenet uses. */
const SERVICES: Record<string, number> = { ssh: 22, domain: 53, http: 80, https: 443, 'domain-s': 853 };

/** A printed port ("53", "domain") as a number, or undefined. */
export function portNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d{1,5}$/.test(text)) return Number(text);
  return SERVICES[text];
}
