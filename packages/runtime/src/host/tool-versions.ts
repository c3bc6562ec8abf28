import type { CommandRunner } from './command-runner.ts';

/** How to ask each tool for its version; anything not listed is asked with `--version`. */
const versionArgs: Record<string, readonly string[]> = {
  ip: ['-V'],
  // bhyve and pfctl print no version: the userland release stands in for them.
  bhyve: [],
  bhyvectl: [],
  pfctl: [],
  jail: [],
  ifconfig: [],
};

const unversioned = new Set(
  Object.entries(versionArgs)
    .filter(([, a]) => a.length === 0)
    .map(([t]) => t),
);

/** A tool's version line, "not installed" when it cannot be run, or the userland release for base-system tools. */
export async function toolVersion(runner: CommandRunner, tool: string): Promise<string> {
  const argv = unversioned.has(tool) ? ['freebsd-version', '-u'] : [tool, ...(versionArgs[tool] ?? ['--version'])];
  try {
    const result = await runner.run(argv, { timeoutMs: 5000 });
    if (result.code === 127) return 'not installed';
    const line = firstLine(result.stdout) ?? firstLine(result.stderr);
    if (!line) return `unknown (exit ${result.code})`;
    return unversioned.has(tool) ? `base system ${line}` : line;
  } catch {
    return 'not installed';
  }
}

export async function toolVersions(runner: CommandRunner, tools: readonly string[]): Promise<Record<string, string>> {
  const unique = [...new Set(tools)].sort();
  const versions = await Promise.all(unique.map((t) => toolVersion(runner, t)));
  return Object.fromEntries(unique.map((t, i) => [t, versions[i] as string]));
}

function firstLine(text: string): string | undefined {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  return line === undefined ? undefined : line.slice(0, 200);
}
