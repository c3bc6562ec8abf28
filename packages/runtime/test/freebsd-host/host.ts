import type { CommandOptions, CommandResult, CommandRunner } from '../../src/host/command-runner.ts';

/**
 * A model of a FreeBSD host for tests. It holds kernel objects (per subsystem, see `part`) and answers command lines
 * the way the real tools do: a tool module registers a handler per executable, accepts only what the manual page
 * allows, and throws ToolFailure (exit status + message on stderr) for anything else. An executable without a
 * handler fails like a missing binary (exit 127), so code under test cannot call tools the model does not know.
 */
export interface ToolOutput {
  code?: number;
  stdout?: string;
  stderr?: string;
}

export type ToolHandler = (host: FreeBsdHost, args: string[], input: string) => ToolOutput | void;

/** What a real tool prints and exits with when it rejects its input. */
export class ToolFailure extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
    this.name = 'ToolFailure';
  }
}

export class FreeBsdHost implements CommandRunner {
  readonly sysctls = new Map<string, string>();
  /** Every command line run against the model, in order. */
  readonly calls: string[][] = [];
  private readonly tools = new Map<string, ToolHandler>();
  private readonly parts = new Map<string, unknown>();

  /** Installs the handler for an executable (matched by its base name). */
  register(name: string, handler: ToolHandler): this {
    this.tools.set(name, handler);
    return this;
  }

  /** The kernel state of one subsystem (pf, interfaces, vmm, jails, files...), created on first use. */
  part<T>(key: string, create: () => T): T {
    if (!this.parts.has(key)) this.parts.set(key, create());
    return this.parts.get(key) as T;
  }

  async run(argv: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
    this.calls.push([...argv]);
    const [file, ...args] = argv;
    const name = (file ?? '').split('/').pop() ?? '';
    const handler = this.tools.get(name);
    if (!handler) return { argv, code: 127, stdout: '', stderr: `${file}: Command not found.\n` };
    const input = options.input === undefined ? '' : options.input.toString();
    try {
      const out = handler(this, args, input) ?? {};
      return { argv, code: out.code ?? 0, stdout: out.stdout ?? '', stderr: out.stderr ?? '' };
    } catch (e) {
      if (e instanceof ToolFailure) {
        return { argv, code: e.code, stdout: '', stderr: `${name}: ${e.message}\n` };
      }
      throw e;
    }
  }
}
