/** `coppice-gateway serve | keys create|list|revoke` */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { gatewayConfig } from '../config.ts';
import { flag, keysCommand, UsageError } from './keys.ts';
import { serveCommand } from './serve.ts';

const USAGE = `usage: coppice-gateway <command> [--db FILE] [--json]
  serve [--host 127.0.0.1] [--port 49982] [--domain localhost:49982]   the E2B API and sandbox proxy
  keys create --team NAME [--name LABEL]                               a new API key (printed once)
  keys list                                                            keys, masked
  keys revoke ID                                                       revoke a key`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const json = rest.includes('--json');
  const args = rest.filter((a) => a !== '--json');
  const database = flag(args, '--db') ?? gatewayConfig.parse({}).database;
  if (database !== ':memory:') mkdirSync(dirname(database), { recursive: true, mode: 0o700 });
  switch (command) {
    case 'keys':
      return keysCommand(args, database, json);
    case 'serve':
      return serveCommand(args, database);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      console.error(`coppice-gateway: ${e.message}\n${USAGE}`);
      process.exitCode = 2;
    } else {
      console.error(`coppice-gateway: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    }
  },
);
