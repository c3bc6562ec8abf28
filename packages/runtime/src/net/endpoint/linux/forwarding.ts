/** IP forwarding on a Linux host: the /proc switches behind the shared record of host-forwarding.ts. */
import { readFile, writeFile } from 'node:fs/promises';
import { SharedHostForwarding, type ForwardingSwitches } from '../../host-forwarding.ts';

export const FORWARDING_FILES = {
  ipv4: '/proc/sys/net/ipv4/ip_forward',
  ipv6: '/proc/sys/net/ipv6/conf/all/forwarding',
} as const;

type Family = keyof typeof FORWARDING_FILES;

function procSwitches(files: Record<Family, string>): ForwardingSwitches<Family> {
  const names = ['ipv4', 'ipv6'] as const;
  return {
    names,
    read: async () => {
      const [ipv4, ipv6] = await Promise.all(names.map(async (f) => (await readFile(files[f], 'utf8')).trim()));
      return { ipv4: ipv4!, ipv6: ipv6! };
    },
    write: (family, value) => writeFile(files[family], `${value}\n`),
  };
}

export class ProcForwarding extends SharedHostForwarding<Family> {
  constructor(dir: string, prefix: string, files: Record<Family, string> = FORWARDING_FILES) {
    super(procSwitches(files), dir, prefix, 'forwarding');
  }
}
