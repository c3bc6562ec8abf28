import { type FreeBsdHost, ToolFailure, type ToolOutput } from './host.ts';

/**
 * sysctl(8) reading `host.sysctls` (`sysctl NAME...`, `sysctl -n NAME...`, a prefix lists its children, as
 * `sysctl net.link.bridge` does), kldstat(8) (`kldstat`, `kldstat -q -m MODULE`) and freebsd-version(1).
 */
export interface SystemInfo {
  /** Kernel modules loaded (kldstat -m names), e.g. "vmm", "pf", "if_bridge", "nmdm". */
  modules: Set<string>;
  /** `freebsd-version -u` (userland, which carries bhyve) and `-k`. */
  userland: string;
  kernel: string;
}

/** Sysctls `sysctl NAME=VALUE` may change (integers); every other known oid is read-only, as in the kernel. */
export const WRITABLE_SYSCTLS = new Set([
  'net.inet.ip.forwarding',
  'net.inet6.ip6.forwarding',
  'net.link.bridge.pfil_member',
  'net.link.bridge.pfil_bridge',
  'net.link.bridge.pfil_onlyip',
]);

export function systemInfo(host: FreeBsdHost): SystemInfo {
  return host.part('system', () => ({
    modules: new Set(['vmm', 'pf', 'if_bridge', 'if_tuntap', 'if_epair', 'nmdm']),
    userland: '15.0-RELEASE-p1',
    kernel: '15.0-RELEASE-p1',
  }));
}

export function registerSystem(host: FreeBsdHost): void {
  host.register('sysctl', (h, args) => sysctl(h, args));
  host.register('kldstat', (h, args) => kldstat(h, args));
  host.register('freebsd-version', (h, args) => freebsdVersion(h, args));
}

function sysctl(host: FreeBsdHost, args: string[]): ToolOutput {
  let valueOnly = false;
  const names: string[] = [];
  const sets: Array<[string, string]> = [];
  for (const a of args) {
    if (a === '-n') valueOnly = true;
    else if (a.startsWith('-')) throw new ToolFailure(`illegal option -- ${a.slice(1)}`);
    else if (a.includes('=')) sets.push([a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]);
    else names.push(a);
  }
  if (sets.length) {
    if (names.length) throw new ToolFailure('cannot mix reading and setting oids in this model');
    return setSysctls(host, sets, valueOnly);
  }
  if (names.length === 0)
    throw new ToolFailure('usage: sysctl [-bdehiNnoqTtWx] [ -B <bufsize> ] [-f filename] name[=value] ...');
  const lines: string[] = [];
  let failed = '';
  for (const name of names) {
    const exact = host.sysctls.get(name);
    const children = [...host.sysctls.keys()].filter((k) => k.startsWith(`${name}.`)).sort();
    if (exact !== undefined) lines.push(valueOnly ? exact : `${name}: ${exact}`);
    else if (children.length > 0)
      for (const k of children) lines.push(valueOnly ? host.sysctls.get(k)! : `${k}: ${host.sysctls.get(k)}`);
    else failed += `sysctl: unknown oid '${name}'\n`;
  }
  return { stdout: lines.map((l) => `${l}\n`).join(''), stderr: failed, code: failed ? 1 : 0 };
}

/** sysctl(8) setting `NAME=VALUE`: prints `NAME: OLD -> NEW` (`-n`: `OLD -> NEW`), refuses unknown, read-only and non-integer. */
function setSysctls(host: FreeBsdHost, sets: Array<[string, string]>, valueOnly: boolean): ToolOutput {
  const lines: string[] = [];
  for (const [name, value] of sets) {
    const old = host.sysctls.get(name);
    if (old === undefined) throw new ToolFailure(`unknown oid '${name}'`);
    if (!WRITABLE_SYSCTLS.has(name)) throw new ToolFailure(`oid '${name}' is read only`);
    if (!/^-?\d+$/.test(value)) throw new ToolFailure(`invalid integer '${value}'`);
    host.sysctls.set(name, String(Number(value)));
    lines.push(valueOnly ? `${old} -> ${Number(value)}` : `${name}: ${old} -> ${Number(value)}`);
  }
  return { stdout: lines.map((l) => `${l}\n`).join('') };
}

function kldstat(host: FreeBsdHost, args: string[]): ToolOutput {
  const info = systemInfo(host);
  if (args.length === 0) {
    const rows = [...info.modules].map(
      (m, i) =>
        `${String(i + 2).padStart(2)}    1 0xffffffff82${String(i).padStart(6, '0')}     ${'1000'.padStart(5)} ${m}.ko`,
    );
    return {
      stdout: `Id Refs Address                Size Name\n 1   ${rows.length + 1} 0xffffffff80200000  1f3e2b0 kernel\n${rows.join('\n')}\n`,
    };
  }
  let quiet = false;
  let module: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-q') quiet = true;
    else if (args[i] === '-m') module = args[++i];
    else throw new ToolFailure(`illegal option -- ${args[i]}`);
  }
  if (!module) throw new ToolFailure('usage: kldstat [-dhqv] [-i id | -n filename]\n       kldstat [-dq] -m modname');
  if (!info.modules.has(module)) {
    if (quiet) return { code: 1 };
    throw new ToolFailure(`can't find module ${module}: No such file or directory`);
  }
  return { stdout: quiet ? '' : `Id  Refs Name\n  1    1 ${module}\n` };
}

function freebsdVersion(host: FreeBsdHost, args: string[]): ToolOutput {
  const info = systemInfo(host);
  if (args.length === 0 || (args.length === 1 && args[0] === '-u')) return { stdout: `${info.userland}\n` };
  if (args.length === 1 && args[0] === '-k') return { stdout: `${info.kernel}\n` };
  throw new ToolFailure('usage: freebsd-version [-kru] [-j jail]');
}
