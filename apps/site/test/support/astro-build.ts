import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

export const SITE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface BuildOutcome {
  code: number | null;
  output: string;
  /** Wall-clock time of the build. */
  ms: number;
  /** CPU time (user + system) of the build process, all its threads. */
  cpuMs: number | undefined;
}

const REPORT_CPU = join(dirname(fileURLToPath(import.meta.url)), 'report-cpu.mjs');

/** Runs a real `astro build` of the site over `resultsDir` into `outDir`, as `npx astro build` would. */
export function astroBuild(resultsDir: string, outDir: string): Promise<BuildOutcome> {
  const astroBin = join(
    dirname(createRequire(join(SITE_DIR, 'package.json')).resolve('astro/package.json')),
    'astro.js',
  );
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', REPORT_CPU, astroBin, 'build', '--outDir', outDir], {
      cwd: SITE_DIR,
      env: {
        ...process.env,
        COPPICE_RESULTS_DIR: resultsDir,
        ASTRO_TELEMETRY_DISABLED: '1',
        NO_COLOR: '1',
        FORCE_COLOR: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const cpu = /COPPICE_CPU_MS=(\d+)/.exec(output);
      resolve({ code, output, ms: performance.now() - started, cpuMs: cpu ? Number(cpu[1]) : undefined });
    });
  });
}
