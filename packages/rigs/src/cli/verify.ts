import type { CliEnv } from './catalog.ts';

export async function verifyCommand(_args: readonly string[], env: CliEnv): Promise<number> {
  env.stderr.write('coppice-rigs verify: waiting for the results-tree loader\n');
  return 2;
}
