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
  for (const a of args) {
    if (a === '-n') valueOnly = true;
    else if (a.startsWith('-')) throw new ToolFailure(`illegal option -- ${a.slice(1)}`);
    else if (a.includes('=')) throw new ToolFailure(`${a.split('=')[0]}: Operation not permitted`);
    else names.push(a);
  }
  if (names.length === 0) throw new ToolFailure('usage: sysctl [-bdehiNnoqTtWx] [ -B <bufsize> ] [-f filename] name[=value] ...');
  const lines: string[] = [];
  let failed = '';
  for (const name of names) {
    const exact = host.sysctls.get(name);
    const children = [...host.sysctls.keys()].filter((k) => k.startsWith(`${name}.`)).sort();
    if (exact !== undefined) lines.push(valueOnly ? exact : `${name}: ${exact}`);
    else if (children.length > 0) for (const k of children) lines.push(valueOnly ? host.sysctls.get(k)! : `${k}: ${host.sysctls.get(k)}`);
    else failed += `sysctl: unknown oid '${name}'\n`;
  }
  return { stdout: lines.map((l) => `${l}\n`).join(''), stderr: failed, code: failed ? 1 : 0 };
}

function kldstat(host: FreeBsdHost, args: string[]): ToolOutput {
  const info = systemInfo(host);
  if (args.length === 0) {
    const rows = [...info.modules].map((m, i) => `${String(i + 2).padStart(2)}    1 0xffffffff82${String(i).padStart(6, '0')}     ${'1000'.padStart(5)} ${m}.ko`);
    return { stdout: `Id Refs Address                Size Name\n 1   ${rows.length + 1} 0xffffffff80200000  1f3e2b0 kernel\n${rows.join('\n')}\n` };
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
