import { parseArgs } from 'node:util';
import { CloneHelper, DEFAULT_CLONE_HELPER } from './clone-helper.ts';
import { systemOsEffects } from './os-effects.ts';
import { createEnvd, DEFAULT_MAX_UPLOAD_BYTES, ENVD_VERSION } from './server.ts';

const USAGE = `usage: envd [--port 49983] [--host 0.0.0.0] [--default-user user] [--max-upload-bytes N]
            [--generation-file /run/coppice/generation] [--clone-helper PATH] [--version]`;

function positiveInt(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new Error(`--${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '49983' },
      host: { type: 'string', default: '0.0.0.0' },
      'default-user': { type: 'string', default: 'user' },
      'max-upload-bytes': { type: 'string', default: String(DEFAULT_MAX_UPLOAD_BYTES) },
      'generation-file': { type: 'string', default: '/run/coppice/generation' },
      'clone-helper': { type: 'string', default: DEFAULT_CLONE_HELPER },
      version: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.version) {
    console.log(ENVD_VERSION);
    return;
  }
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
    throw new Error(`--port must be 0..65535 (0: any free port), got ${JSON.stringify(values.port)}`);
  }
  const port = Number(values.port);
  // Started now, so that it is already running in a template checkpoint (see clone-helper.ts).
  const cloneHelper = new CloneHelper(values['clone-helper']);
  cloneHelper.start();
  const envd = createEnvd({
    effects: systemOsEffects({ cloneHelper, generationFile: values['generation-file'] }),
    defaultUser: values['default-user'],
    maxUploadBytes: positiveInt(values['max-upload-bytes'], 'max-upload-bytes'),
  });
  // The agent is the sandbox's only way in: a bug in one request must not end it for every other.
  process.on('uncaughtException', (error) => console.error('envd: uncaught exception:', error));
  process.on('unhandledRejection', (error) => console.error('envd: unhandled rejection:', error));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      cloneHelper.close();
      void envd.close().finally(() => process.exit(0));
    });
  }
  const address = await envd.listen(port, values.host);
  console.log(`envd ${ENVD_VERSION} listening on ${address.address}:${address.port}`);
}

main().catch((error: unknown) => {
  console.error(`envd: ${error instanceof Error ? error.message : String(error)}`);
  console.error(USAGE);
  process.exit(2);
});
