import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const packageDir = new URL('../..', import.meta.url).pathname;

/** Builds dist/envd.mjs exactly as `npm run build` does. */
export async function buildBundle(): Promise<string> {
  await promisify(execFile)(process.execPath, ['build.mjs'], { cwd: packageDir });
  return `${packageDir}dist/envd.mjs`;
}

export interface BundledAgent {
  child: ChildProcess;
  baseUrl: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs the bundle as its own process, as the guest does. ENVD_TEST_NODE names another node binary to run it with
 * (e.g. a wrapper for Debian bookworm's Node 18, the guest's).
 */
export async function startBundledAgent(bundle: string, args: string[]): Promise<BundledAgent> {
  const node = process.env.ENVD_TEST_NODE || process.execPath;
  const child = spawn(node, [bundle, '--host', '127.0.0.1', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not start in 20 s: ${output}`)), 20_000);
    const check = (): void => {
      const match = /listening on [\d.]+:(\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code}: ${output}`));
    });
  });
  return {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
