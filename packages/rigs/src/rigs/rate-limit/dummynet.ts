/**
 * The FreeBSD branch of the rate limit (not wired: cubenet's pf backend is not in the rigs yet, and the pipe has to be
 * named by the sandbox's own anchor rules, which cubenet renders). dummynet(4) shapes with a pipe configured by
 * dnctl(8); pf sends a state's packets through it when the rule that created the state carries `dnpipe N`
 * (pf.conf(5)). A sandbox's egress is what its anchor's `pass in quick on <its epair/tap> from <its addresses> …`
 * rules let in, so those rules get the option. Pipe numbers are 1–65535: the sandbox's host number in the subnet
 * is unique and fits.
 *
 *   kldload dummynet                          (once; preflight: kldstat -q -m dummynet)
 *   dnctl pipe N config bw 100Mbit/s
 *   pfctl -a cube/sandbox-<id> -f -           (the anchor with `dnpipe N` on its egress passes)
 *   dnctl pipe delete N                       (at release)
 */
import type { SandboxAddresses } from '@coppice/runtime/net/types.ts';

export function pipeNumber(host: number): number {
  if (!Number.isInteger(host) || host < 1 || host > 65535) throw new Error(`a dummynet pipe number is 1-65535; host number ${host} does not fit`);
  return host;
}

export function dnctlConfigArgv(pipe: number, rateMbit: number): string[] {
  if (!(Number.isInteger(rateMbit) && rateMbit > 0 && rateMbit <= 100_000)) throw new Error(`rate must be a whole number of Mbit/s, 1-100000, got ${rateMbit}`);
  return ['dnctl', 'pipe', String(pipeNumber(pipe)), 'config', 'bw', `${rateMbit}Mbit/s`];
}

export function dnctlDeleteArgv(pipe: number): string[] {
  return ['dnctl', 'pipe', 'delete', String(pipeNumber(pipe))];
}

export const DUMMYNET_PREFLIGHT_ARGV = ['kldstat', '-q', '-m', 'dummynet'] as const;

/**
 * Adds `dnpipe N` to the sandbox's egress passes of a rendered anchor (rules passing in from its own addresses),
 * leaving neighbour discovery, blocks and forwards as they are. Throws if the anchor has no such rule.
 */
export function withDnpipe(anchor: string, addresses: SandboxAddresses, pipe: number): string {
  const from = `from { ${addresses.ipv4}, ${addresses.ipv6} }`;
  let changed = 0;
  const out = anchor
    .split('\n')
    .map((line) => {
      if (!line.startsWith('pass in quick') || !line.includes(` ${from} `)) return line;
      changed++;
      const at = line.indexOf(' label ');
      return at < 0 ? `${line} dnpipe ${pipeNumber(pipe)}` : `${line.slice(0, at)} dnpipe ${pipeNumber(pipe)}${line.slice(at)}`;
    })
    .join('\n');
  if (!changed) throw new Error('the anchor has no egress pass rule for the sandbox: nothing to attach the pipe to');
  return out;
}
