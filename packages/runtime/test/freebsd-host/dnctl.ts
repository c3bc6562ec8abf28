import { type FreeBsdHost, ToolFailure, type ToolOutput } from './host.ts';
import { systemInfo } from './system.ts';

/**
 * dnctl(8), the dummynet(4) half of ipfw(8), for the pipes cubenet's rate limits use: `pipe N config bw BW`
 * (creates or reconfigures), `pipe delete N`, `pipe show|list [N]`. Follows sbin/ipfw/dummynet.c: the number must
 * be positive ("need a pipe/flowset/sched number") and below DN_MAX_ID (the kernel says EINVAL); the bandwidth is
 * strtoul + an optional K/M multiplier + bit/s or byte units, kept in a C int ("bandwidth too large"); an unknown
 * word is "unrecognised option"; nothing works without the dummynet module (the socket option is unknown).
 */
export interface DummynetPipe {
  pipe: number;
  /** bit/s; 0 is unlimited. */
  bandwidth: number;
  delayMs: number;
}

export function dummynetState(host: FreeBsdHost): { pipes: Map<number, DummynetPipe> } {
  return host.part('dummynet', () => ({ pipes: new Map<number, DummynetPipe>() }));
}

const DN_MAX_ID = 0x10000;
const EX_USAGE = 64;
const EX_DATAERR = 65;

export function registerDnctl(host: FreeBsdHost): void {
  host.register('dnctl', (h, args) => dnctl(h, args));
}

function dnctl(host: FreeBsdHost, argsIn: string[]): ToolOutput {
  const args = argsIn.filter((a) => a !== '-q');
  if (args.some((a) => a.startsWith('-')))
    throw new ToolFailure(`illegal option -- ${args.find((a) => a.startsWith('-'))!.slice(1)}`, EX_USAGE);
  const loaded = systemInfo(host).modules.has('dummynet');
  const [what, ...rest] = args;
  if (what !== 'pipe') throw new ToolFailure(`bad command \`${what ?? ''}'`, EX_USAGE);
  const pipes = dummynetState(host).pipes;
  const verb = rest[0];
  if (verb === 'show' || verb === 'list') {
    if (!loaded) throw new ToolFailure('getsockopt(IP_DUMMYNET3): Protocol not available', 71);
    const wanted = rest.slice(1).map(Number);
    return {
      stdout: [...pipes.values()]
        .filter((p) => !wanted.length || wanted.includes(p.pipe))
        .sort((a, b) => a.pipe - b.pipe)
        .map(showPipe)
        .join(''),
    };
  }
  if (verb === 'delete') {
    if (!loaded) throw new ToolFailure('setsockopt(IP_DUMMYNET_DEL): Protocol not available', 71);
    const numbers = rest.slice(1);
    if (!numbers.length || numbers.some((n) => !/^\d+$/.test(n)))
      throw new ToolFailure('pipe delete needs a pipe number', EX_USAGE);
    for (const n of numbers) {
      if (!pipes.delete(Number(n))) throw new ToolFailure(`rule ${n}: setsockopt(IP_DUMMYNET_DEL): Invalid argument`);
    }
    return {};
  }
  // pipe N config ...
  const n = /^\d/.test(verb ?? '') ? Number.parseInt(verb!, 10) : -1;
  if (n <= 0) throw new ToolFailure('need a pipe/flowset/sched number', EX_USAGE);
  if (rest[1] !== 'config') throw new ToolFailure(`unrecognised option \`\`${rest[1] ?? ''}''`, EX_DATAERR);
  let bandwidth = 0;
  let delayMs = 0;
  for (let i = 2; i < rest.length; i++) {
    const word = rest[i]!.toLowerCase();
    const arg = rest[i + 1];
    if (word === 'bw' || word === 'bandwidth') {
      if (arg === undefined) throw new ToolFailure('bw needs bandwidth or interface', EX_USAGE);
      bandwidth = readBandwidth(arg);
      i++;
    } else if (word === 'delay') {
      if (arg === undefined) throw new ToolFailure('delay needs argument 0..10000ms', EX_USAGE);
      delayMs = Number.parseInt(arg, 10) || 0;
      if (delayMs > 10000) throw new ToolFailure('delay must be < 10000', EX_DATAERR);
      i++;
    } else throw new ToolFailure(`unrecognised option \`\`${rest[i]}''`, EX_DATAERR);
  }
  if (!loaded) throw new ToolFailure('setsockopt(IP_DUMMYNET_CONFIGURE): Protocol not available');
  if (n >= DN_MAX_ID) throw new ToolFailure('setsockopt(IP_DUMMYNET_CONFIGURE): Invalid argument');
  pipes.set(n, { pipe: n, bandwidth, delayMs });
  return {};
}

/** read_bandwidth(): digits, then K/k or M/m, then bit/s (default) or B/Byte/s/bytes (× 8); an interface name is refused. */
function readBandwidth(arg: string): number {
  if (/^[a-z]/.test(arg)) throw new ToolFailure('no if support');
  const m = /^(\d+)([KkMm]?)(.*)$/.exec(arg);
  if (!m) throw new ToolFailure(`bandwidth ${arg} is not a number`, EX_DATAERR);
  let bw = Number(m[1]) * (m[2] === '' ? 1 : /k/i.test(m[2]!) ? 1000 : 1_000_000);
  const unit = m[3]!;
  if ((unit.startsWith('B') && !/^Bi/.test(unit)) || /^by/.test(unit)) bw *= 8;
  else if (unit !== '' && !/^(bit\/s|Bit\/s|bit|Bit)$/.test(unit))
    throw new ToolFailure(`unrecognised option \`\`${unit}''`, EX_DATAERR);
  // The C code keeps it in an int: anything from 2^31 on is negative there.
  if (bw >= 2 ** 31) throw new ToolFailure('bandwidth too large', EX_DATAERR);
  return bw;
}

/** list_pipes(): the link line, then the pipe's internal FIFO flowset and scheduler. */
function showPipe(p: DummynetPipe): string {
  const b = p.bandwidth;
  const bw =
    b === 0
      ? 'unlimited     '
      : b >= 1_000_000
        ? `${(b / 1e6).toFixed(3).padStart(7)} Mbit/s`
        : b >= 1000
          ? `${(b / 1e3).toFixed(3).padStart(7)} Kbit/s`
          : `${b.toFixed(3).padStart(7)} bit/s `;
  const id = String(p.pipe).padStart(5, '0');
  return (
    `${id}: ${bw} ${String(p.delayMs).padStart(4)} ms burst 0\n` +
    `q${String(p.pipe + 2 * DN_MAX_ID).padStart(5, '0')}  50 sl. 0 flows (1 buckets) sched ${p.pipe + DN_MAX_ID} weight 0 lmax 0 pri 0 droptail\n` +
    ` sched ${p.pipe + DN_MAX_ID} type FIFO flags 0x0 0 buckets 0 active\n`
  );
}
