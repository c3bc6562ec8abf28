/** persistent-kernel checks (and code's streamed output, an envd-execute check) on a code-interpreter sandbox. */
import { Sandbox as CodeInterpreter } from '@e2b/code-interpreter';
import { type CheckRecorder, expectThat, unavailable } from './checks.ts';
import { RIG_METADATA } from './control-plane.ts';

/** Python's first import of pandas or matplotlib on a TCG guest takes tens of seconds. */
const KERNEL_LIMIT_MS = 240_000;

export async function kernelChecks(checks: CheckRecorder): Promise<void> {
  let sandbox: CodeInterpreter | undefined;
  const created = await checks.run(
    'persistent-kernel',
    'create code-interpreter sandbox',
    async () => {
      sandbox = await CodeInterpreter.create({ timeoutMs: 600_000, metadata: RIG_METADATA });
      const info = await sandbox.getInfo();
      return `CodeInterpreter.create() -> ${sandbox.sandboxId}, template ${info.templateId}`;
    },
    KERNEL_LIMIT_MS,
  );
  const s = created && sandbox ? sandbox : unavailable<CodeInterpreter>('CodeInterpreter.create failed');
  try {
    await checks.run(
      'persistent-kernel',
      'state across calls',
      async () => {
        await s.runCode('x = 41');
        await s.runCode('def bump(v):\n    return v + 1');
        const result = await s.runCode('bump(x)');
        expectThat(result.text === '42' && !result.error, 'bump(x) == 42 from the two calls before', {
          text: result.text,
          error: result.error,
        });
        return 'a variable and a function defined in earlier runCode calls: bump(x) -> 42';
      },
      KERNEL_LIMIT_MS,
    );
    await checks.run(
      'envd-execute',
      'runCode streamed output',
      async () => {
        const seen: Array<{ at: number; line: string }> = [];
        const t0 = performance.now();
        const result = await s.runCode(
          "import time\nprint('first', flush=True)\ntime.sleep(1.5)\nprint('second', flush=True)",
          {
            onStdout: (m) => void seen.push({ at: performance.now() - t0, line: m.line }),
          },
        );
        const first = seen.find((c) => c.line.includes('first'));
        const second = seen.find((c) => c.line.includes('second'));
        expectThat(
          !!first && !!second && second.at - first.at > 1000 && result.logs.stdout.join('').includes('second'),
          'two stdout messages at least 1 s apart',
          seen,
        );
        return `onStdout got "first" at ${Math.round(first!.at)} ms, "second" at ${Math.round(second!.at)} ms; logs.stdout holds both`;
      },
      KERNEL_LIMIT_MS,
    );
    await checks.run(
      'persistent-kernel',
      'DataFrame -> html',
      async () => {
        const result = await s.runCode("import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': [3, 4]})");
        const html = result.results[0]?.html ?? '';
        expectThat(
          html.includes('<table') && html.includes('<td>4</td>'),
          'an HTML table with the frame',
          html.slice(0, 200),
        );
        return `results[0].html: a ${html.length}-character <table>, text form too: ${JSON.stringify(result.results[0]?.text?.split('\n')[0])}`;
      },
      KERNEL_LIMIT_MS,
    );
    await checks.run(
      'persistent-kernel',
      'matplotlib -> png',
      async () => {
        const result = await s.runCode('import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.show()');
        const png = result.results.find((r) => r.png)?.png ?? '';
        const magic = Buffer.from(png, 'base64').subarray(0, 8).toString('hex');
        expectThat(magic === '89504e470d0a1a0a', 'a base64 PNG', png.slice(0, 40));
        return `results[].png: ${Math.round((png.length * 3) / 4 / 1024)} KiB PNG (signature checked)`;
      },
      KERNEL_LIMIT_MS,
    );
    await checks.run(
      'persistent-kernel',
      'error -> name/value/traceback',
      async () => {
        const result = await s.runCode('1 / 0');
        const e = result.error;
        expectThat(
          e?.name === 'ZeroDivisionError' &&
            e.value.includes('division by zero') &&
            e.traceback.includes('ZeroDivisionError'),
          'ZeroDivisionError with value and traceback',
          e,
        );
        const after = await s.runCode('x');
        expectThat(after.text === '41', 'the kernel alive with its state after the error', after.text);
        return `error.name ${e!.name}, value "${e!.value}", ${e!.traceback.split('\n').length}-line traceback; state kept after it`;
      },
      KERNEL_LIMIT_MS,
    );
    await checks.run(
      'persistent-kernel',
      'contexts',
      async () => {
        const context = await s.createCodeContext({ cwd: '/tmp' });
        await s.runCode('y = "only here"', { context });
        const inContext = await s.runCode('import os\n(y, os.getcwd())', { context });
        const outside = await s.runCode('y');
        const listed = (await s.listCodeContexts()).some((c) => c.id === context.id);
        await s.removeCodeContext(context.id);
        expectThat(
          inContext.text === "('only here', '/tmp')" && outside.error?.name === 'NameError' && listed,
          'y in its context (cwd /tmp) only, context listed',
          {
            inContext: inContext.text,
            outside: outside.error?.name,
            listed,
          },
        );
        return `createCodeContext({ cwd: /tmp }) -> ${context.id}: its variables stay in it (NameError in the default context), listed, removed`;
      },
      KERNEL_LIMIT_MS,
    );
  } finally {
    await sandbox?.kill().catch(() => undefined);
  }
}
