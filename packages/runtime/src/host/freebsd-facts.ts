import type { CommandRunner } from './command-runner.ts';
import type { PlatformFacts } from './facts.ts';
import { probeVnodeRestore } from '../hypervisor/bhyve/vnode-restore.ts';

const identitySysctls = [
  'hw.model',
  'hw.ncpu',
  'hw.physmem',
  'kern.osrelease',
  'kern.ident',
  'kern.smp.cores',
  'kern.vm_guest',
] as const;

/** Parses `sysctl name...` output ("hw.ncpu: 16" per line; multi-line values continue on following lines). */
export function parseSysctl(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-z0-9_.%-]+): ?(.*)$/i.exec(line);
    if (m && m[1]?.includes('.')) {
      last = m[1];
      out[last] = m[2] ?? '';
    } else if (last && line.length > 0) {
      out[last] += `\n${line}`;
    }
  }
  return out;
}

/** The `options NAME` lines of `sysctl -n kern.conftxt`, sorted (e.g. BHYVE_SNAPSHOT, VIMAGE). */
export function parseKernelOptions(conftxt: string): string[] {
  return conftxt
    .split('\n')
    .map((l) => /^options\s+(\S+)/.exec(l.trim())?.[1])
    .filter((o): o is string => o !== undefined)
    .sort();
}

/** Module file names from `kldstat` (the header line is "Id Refs Address Size Name"). */
export function parseKldstat(text: string): string[] {
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/)[4])
    .filter((n): n is string => n !== undefined && n.length > 0);
}

/** `pfctl -sm` lines ("states        hard limit   100000") → { states: "100000", ... }. */
export function parsePfLimits(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z-]+)\s+hard limit\s+(\d+)\s*$/.exec(line);
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}

export async function gatherFreeBsdFacts(runner: CommandRunner): Promise<PlatformFacts> {
  // Independent queries, run together. sysctl exits 1 when one name is unknown but still prints the others.
  const [idOut, conftxt, kld, pf, bridge, vnode] = await Promise.all([
    runner.run(['sysctl', ...identitySysctls]),
    runner.run(['sysctl', '-n', 'kern.conftxt']),
    runner.run(['kldstat']),
    runner.run(['pfctl', '-sm']),
    runner.run(['sysctl', 'net.link.bridge']),
    probeVnodeRestore(runner),
  ]);
  const id = parseSysctl(idOut.stdout);
  const need = (name: string): string => {
    const v = id[name];
    if (v === undefined || v === '') throw new Error(`sysctl ${name} is missing`);
    return v.trim();
  };
  const osrelease = need('kern.osrelease');
  const threads = Number(need('hw.ncpu'));
  const facts: Record<string, string> = {};
  for (const name of identitySysctls) if (id[name] !== undefined) facts[name] = (id[name] as string).trim();
  facts.virtualization = `vm: ${id['kern.vm_guest']?.trim() || 'unknown'} (kern.vm_guest)`;

  facts['kern.conftxt.options'] =
    conftxt.code === 0 ? parseKernelOptions(conftxt.stdout).join(' ') : `unavailable: ${errorText(conftxt)}`;

  facts.kldstat = kld.code === 0 ? parseKldstat(kld.stdout).join(' ') : `unavailable: ${errorText(kld)}`;

  if (pf.code === 0) {
    for (const [name, limit] of Object.entries(parsePfLimits(pf.stdout))) facts[`pf.limit.${name}`] = limit;
  } else {
    facts['pf.limits'] = `unavailable: ${errorText(pf)}`;
  }

  // Whether template restores map the checkpoint (patched bhyve) or copy guest memory: it decides what a
  // restore-density figure means.
  facts['bhyve.restore_memory'] = vnode.supported ? `vnode: ${vnode.detail}` : `copy: ${vnode.detail}`;

  if (bridge.code === 0) Object.assign(facts, parseSysctl(bridge.stdout));
  else facts['net.link.bridge'] = `unavailable: ${errorText(bridge)}`;

  const ident = need('kern.ident');
  return {
    os: `FreeBSD ${osrelease}`,
    kernel: `${osrelease} ${ident}`,
    cpu: { model: need('hw.model'), cores: Number(id['kern.smp.cores'] ?? threads) || threads, threads },
    memoryBytes: Number(need('hw.physmem')),
    backend: { hypervisor: 'bhyve', firewall: 'pf' },
    facts,
  };
}

function errorText(result: { code: number; stderr: string; stdout: string }): string {
  return (result.stderr || result.stdout).trim().split('\n')[0] || `exit ${result.code}`;
}
