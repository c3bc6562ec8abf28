/** IP forwarding on a FreeBSD host: the sysctl(8) switches behind the shared record of host-forwarding.ts. */
import { type CommandRunner, runChecked } from '../../../host/command-runner.ts';
import { SharedHostForwarding, type ForwardingSwitches } from '../../host-forwarding.ts';

export const FORWARDING_SYSCTLS = ['net.inet.ip.forwarding', 'net.inet6.ip6.forwarding'] as const;

type Sysctl = (typeof FORWARDING_SYSCTLS)[number];

function sysctlSwitches(runner: CommandRunner): ForwardingSwitches<Sysctl> {
  return {
    names: FORWARDING_SYSCTLS,
    read: async () => {
      const r = await runChecked(runner, ['sysctl', '-n', ...FORWARDING_SYSCTLS]);
      const values = r.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.length > 0);
      if (values.length !== FORWARDING_SYSCTLS.length || values.some((v) => !/^\d+$/.test(v))) {
        throw new Error(
          `sysctl -n ${FORWARDING_SYSCTLS.join(' ')} printed ${JSON.stringify(r.stdout)}, not ${FORWARDING_SYSCTLS.length} numbers`,
        );
      }
      return Object.fromEntries(FORWARDING_SYSCTLS.map((name, i) => [name, values[i]!])) as Record<Sysctl, string>;
    },
    write: async (name, value) => {
      await runChecked(runner, ['sysctl', `${name}=${value}`]);
    },
  };
}

export class SysctlForwarding extends SharedHostForwarding<Sysctl> {
  constructor(runner: CommandRunner, dir: string, prefix: string) {
    super(sysctlSwitches(runner), dir, prefix, 'forwarding-sysctl');
  }
}
