/** The Linux cubenet: nftables firewall + netns/veth/tap endpoints, both through one command runner. */
import { ProcessRunner, type CommandRunner } from '../host/command-runner.ts';
import { Cubenet, DEFAULT_LOCK_DIR, type CubenetOptions } from './cubenet.ts';
import { ProcForwarding } from './endpoint/linux/forwarding.ts';
import { LinuxEndpoints } from './endpoint/linux/netns.ts';
import { NftablesFirewall } from './firewall/nftables/nftables.ts';
import { builtSetElementWriter } from './firewall/nftables/set-element-writer.ts';
import { DEFAULT_NET_CONFIG, type NetConfig } from './types.ts';
import { parsePrefix } from './validate.ts';

export function openLinuxCubenet(
  options: Partial<Omit<CubenetOptions, 'config' | 'firewall' | 'endpoints' | 'runner'>> & {
    config?: Partial<NetConfig>;
    runner?: CommandRunner;
    /** Apply firewall changes through one long-lived `nft -i` (default true) rather than one `nft -f` per change. */
    persistentNft?: boolean;
    /**
     * With the persistent session: send list changes as raw netlink through this nft-set-elements binary (default:
     * the one native/build.sh built, if any; false: always nft text).
     */
    setElementWriter?: string | false;
  } = {},
): Promise<Cubenet> {
  const config: NetConfig = { ...DEFAULT_NET_CONFIG, ...options.config };
  const runner = options.runner ?? new ProcessRunner();
  const prefix = parsePrefix(config.prefix);
  return Cubenet.open({
    ...options,
    config,
    runner,
    firewall: new NftablesFirewall(runner, prefix, {
      persistentSession: options.persistentNft ?? true,
      ...(options.setElementWriter !== false
        ? { setElementWriter: options.setElementWriter ?? builtSetElementWriter() }
        : {}),
    }),
    endpoints: new LinuxEndpoints(runner),
    ...((options.enableForwarding ?? true) && !options.forwarding
      ? { forwarding: new ProcForwarding(config.lockDir ?? DEFAULT_LOCK_DIR, prefix) }
      : {}),
  });
}
