import { execFile } from 'node:child_process';
import { access, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessRunner } from '@coppice/runtime/host';
import { locateTemplate } from '@coppice/runtime/hypervisor';
import { startLocalGateway, type LocalGateway } from '../src/local-gateway.ts';

// Every program in examples/ run unchanged (node, the three E2B_* variables) against a gateway on this host's real
// runtime: QEMU guests from the built templates on a cubenet of this test's own (prefix cpxe), removed afterwards.
const examplesDir = resolve(import.meta.dirname, '../../../examples');
const EXAMPLES = ['run-code.mjs', 'files.mjs', 'web-server.mjs', 'pause-resume.mjs'];

async function runtimeAvailable(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  try {
    await access('/usr/bin/qemu-system-x86_64');
    const runner = new ProcessRunner();
    await locateTemplate(runner, 'base');
    await locateTemplate(runner, 'code-interpreter-v1');
    return true;
  } catch {
    return false;
  }
}

const available = await runtimeAvailable();

describe.skipIf(!available || process.env.COPPICE_GUEST_TEMPLATES === '0')(
  'examples/ against a gateway on the real runtime',
  () => {
    let local: LocalGateway | undefined;
    const backgroundErrors: string[] = [];

    beforeAll(async () => {
      local = await startLocalGateway({
        net: { prefix: 'cpxe', ipv4Subnet: '10.81.0.128/25', ipv6Subnet: 'fd81:0:0:1::/64' },
        stateRoot: await mkdtemp(join(tmpdir(), 'cpxe-gateway-')),
        runRoot: `/run/cpxe-${process.pid}`,
        onBackgroundError: (e) => backgroundErrors.push(e.message),
      });
    }, 600_000);

    afterAll(async () => {
      await local?.close();
    }, 180_000);

    it.each(EXAMPLES)(
      '%s exits 0',
      async (example) => {
        const env = { ...process.env, ...local!.env };
        const run = await promisify(execFile)(process.execPath, [join(examplesDir, example)], {
          cwd: examplesDir,
          env,
          timeout: 240_000,
        }).catch((e: { code?: number; stdout?: string; stderr?: string; message: string }) => e);
        const output = `${run.stdout ?? ''}${run.stderr ?? ''}${'message' in run ? run.message : ''}`;
        expect('code' in run ? run.code : 0, `${example}:\n${output}\n${backgroundErrors.join('\n')}`).toBe(0);
      },
      300_000,
    );
  },
);
