/** Parsers for ifconfig(8) output on FreeBSD. */

/** `ifconfig -l`: interface names on one line, separated by spaces. */
export function parseInterfaceList(stdout: string): string[] {
  return stdout.split(/\s+/).filter((n) => /^[A-Za-z0-9_.-]+$/.test(n));
}

/** `ifconfig -g GROUP`: member names, one a line. */
export function parseGroupMembers(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[A-Za-z0-9_.-]+$/.test(l));
}

/** `ifconfig tap create`, `ifconfig epair create`, `ifconfig bridge create` print the new interface's name. */
export function parseCreatedName(stdout: string, cloner: 'tap' | 'epair' | 'bridge'): string {
  const name = stdout.trim();
  const re = cloner === 'epair' ? /^epair\d+a$/ : new RegExp(`^${cloner}\\d+$`);
  if (!re.test(name))
    throw new Error(`ifconfig ${cloner} create printed ${JSON.stringify(name)}, not a ${cloner} name`);
  return name;
}

export interface InterfaceDetail {
  name: string;
  up: boolean;
  description?: string;
  groups: string[];
  members: string[];
  inet: { address: string; prefix: number }[];
  inet6: { address: string; prefix: number }[];
}

function maskToPrefix(mask: string): number {
  const n = mask.startsWith('0x') ? parseInt(mask, 16) : mask.split('.').reduce((a, p) => a * 256 + Number(p), 0);
  let bits = 0;
  for (let b = 31; b >= 0; b--) if ((n >>> b) & 1) bits++;
  return bits;
}

/** `ifconfig NAME`: the first line names the interface and its flags; tab-indented lines follow. */
export function parseInterfaceDetail(stdout: string): InterfaceDetail | undefined {
  const lines = stdout.split('\n');
  const head = /^([A-Za-z0-9_.-]+): flags=[0-9a-f]+<([^>]*)>/.exec(lines[0] ?? '');
  if (!head?.[1]) return undefined;
  const d: InterfaceDetail = {
    name: head[1],
    up: (head[2] ?? '').split(',').includes('UP'),
    groups: [],
    members: [],
    inet: [],
    inet6: [],
  };
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^description: (.*)$/.exec(line))) d.description = m[1];
    else if ((m = /^groups: (.*)$/.exec(line))) d.groups = (m[1] ?? '').split(/\s+/).filter(Boolean);
    else if ((m = /^member: (\S+)/.exec(line))) d.members.push(m[1]!);
    else if ((m = /^inet (\S+) netmask (\S+)/.exec(line))) d.inet.push({ address: m[1]!, prefix: maskToPrefix(m[2]!) });
    else if ((m = /^inet6 ([0-9a-fA-F:]+)(?:%\S+)? prefixlen (\d+)/.exec(line)))
      d.inet6.push({ address: m[1]!, prefix: Number(m[2]) });
  }
  return d;
}
