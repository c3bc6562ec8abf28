import type { Platform } from '@coppice/results-schema';

/** The firewall tool asked to do nothing: the fixed cost every policy update pays for its process. */
export function firewallNoopArgv(platform: Platform): string[] {
  return platform === 'linux' ? ['nft', 'list', 'tables'] : ['pfctl', '-s', 'info'];
}
