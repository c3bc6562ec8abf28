import { runChecked, type CommandRunner } from './command-runner.ts';
import type { PlatformFacts } from './facts.ts';

export interface CpuInfo {
  model: string;
  vendor: string | undefined;
  cores: number;
  threads: number;
  flags: ReadonlySet<string>;
}

/** Parses /proc/cpuinfo: logical CPUs are "processor" entries, cores are distinct (physical id, core id) pairs. */
export function parseCpuinfo(text: string): CpuInfo {
  const blocks = text
    .split(/\n\s*\n/)
    .map(parseColonBlock)
    .filter((b) => b.has('processor'));
  if (blocks.length === 0) throw new Error('/proc/cpuinfo lists no processor');
  const first = blocks[0] as Map<string, string>;
  const model =
    first.get('model name') ?? first.get('cpu model') ?? first.get('Hardware') ?? first.get('cpu') ?? 'unknown';
  const coreIds = new Set(
    blocks.filter((b) => b.has('core id')).map((b) => `${b.get('physical id') ?? '0'}:${b.get('core id')}`),
  );
  return {
    model: model.replace(/\s+/g, ' ').trim(),
    vendor: first.get('vendor_id'),
    threads: blocks.length,
    cores: coreIds.size > 0 ? coreIds.size : blocks.length,
    flags: new Set((first.get('flags') ?? '').split(/\s+/).filter(Boolean)),
  };
}

/** Parses /proc/meminfo into bytes per field ("MemTotal: 24683620 kB" → 25276026880). */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) out[m[1] as string] = Number(m[2]) * (line.trimEnd().endsWith('kB') ? 1024 : 1);
  }
  return out;
}

/** PRETTY_NAME from /etc/os-release (falls back to NAME VERSION). */
export function parseOsRelease(text: string): string | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) fields.set(m[1] as string, (m[2] as string).replace(/^"(.*)"$/, '$1'));
  }
  return (
    fields.get('PRETTY_NAME') ?? ([fields.get('NAME'), fields.get('VERSION')].filter(Boolean).join(' ') || undefined)
  );
}

export async function gatherLinuxFacts(runner: CommandRunner): Promise<PlatformFacts> {
  // Independent reads, run together: each command costs a process spawn.
  const [cpuinfo, meminfo, kernel, uname, osRelease, kvmTest, loadavg, bridgeNf] = await Promise.all([
    readFile(runner, '/proc/cpuinfo'),
    readFile(runner, '/proc/meminfo'),
    runChecked(runner, ['uname', '-r']).then((r) => r.stdout.trim()),
    runChecked(runner, ['uname', '-a']).then((r) => r.stdout.trim()),
    tryReadFile(runner, '/etc/os-release'),
    runner.run(['test', '-c', '/dev/kvm']),
    tryReadFile(runner, '/proc/loadavg'),
    tryReadFile(runner, '/proc/sys/net/bridge/bridge-nf-call-iptables'),
  ]);
  const cpu = parseCpuinfo(cpuinfo);
  const mem = parseMeminfo(meminfo);
  const memTotal = mem.MemTotal;
  if (!memTotal) throw new Error('/proc/meminfo has no MemTotal');
  const os = parseOsRelease(osRelease ?? '') ?? `Linux ${kernel}`;
  const kvm = kvmTest.code === 0;

  const facts: Record<string, string> = {
    uname,
    virtualization: await detectVirtualization(runner, cpu),
    kvm: kvm ? '/dev/kvm present' : '/dev/kvm absent',
    'meminfo.MemTotal': String(memTotal),
  };
  if (cpu.vendor) facts['cpu.vendor'] = cpu.vendor;
  for (const key of ['MemAvailable', 'SwapTotal'] as const) {
    if (mem[key] !== undefined) facts[`meminfo.${key}`] = String(mem[key]);
  }
  if (loadavg) facts.loadavg = loadavg.trim().split(/\s+/).slice(0, 3).join(' ');
  if (bridgeNf !== undefined) facts['net.bridge.bridge-nf-call-iptables'] = bridgeNf.trim();

  return {
    os,
    kernel,
    cpu: { model: cpu.model, cores: cpu.cores, threads: cpu.threads },
    memoryBytes: memTotal,
    backend: { hypervisor: kvm ? 'qemu-kvm' : 'qemu-tcg', firewall: 'nftables' },
    facts,
  };
}

/**
 * What the machine runs under: systemd-detect-virt when installed (VM and container separately), otherwise the
 * cpuinfo "hypervisor" flag and the DMI vendor/product.
 */
export async function detectVirtualization(runner: CommandRunner, cpu: CpuInfo): Promise<string> {
  const [vm, container] = await Promise.all([
    tryRun(runner, ['systemd-detect-virt', '--vm']),
    tryRun(runner, ['systemd-detect-virt', '--container']),
  ]);
  if (vm !== undefined) {
    return `vm: ${vm || 'none'}; container: ${container || 'none'} (systemd-detect-virt)`;
  }
  const dmi = [
    await tryReadFile(runner, '/sys/class/dmi/id/sys_vendor'),
    await tryReadFile(runner, '/sys/class/dmi/id/product_name'),
  ]
    .map((s) => s?.trim())
    .filter(Boolean)
    .join(' ');
  if (cpu.flags.has('hypervisor'))
    return `vm: ${dmi || 'unknown hypervisor'} (cpuinfo hypervisor flag${dmi ? ', DMI' : ''})`;
  return dmi ? `vm: none (cpuinfo has no hypervisor flag; DMI: ${dmi})` : 'vm: none (cpuinfo has no hypervisor flag)';
}

function parseColonBlock(block: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of block.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return fields;
}

async function readFile(runner: CommandRunner, path: string): Promise<string> {
  return (await runChecked(runner, ['cat', path])).stdout;
}

async function tryReadFile(runner: CommandRunner, path: string): Promise<string | undefined> {
  const result = await runner.run(['cat', path]).catch(() => undefined);
  return result && result.code === 0 ? result.stdout : undefined;
}

/** stdout of a command that prints an answer even when it exits non-zero (systemd-detect-virt exits 1 on "none"). */
async function tryRun(runner: CommandRunner, argv: string[]): Promise<string | undefined> {
  const result = await runner.run(argv).catch(() => undefined);
  if (!result || result.code === 127) return undefined;
  return result.stdout.trim();
}
