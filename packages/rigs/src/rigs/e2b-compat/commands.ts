/** envd-execute checks on the commands API: run, streamed output, background + wait, stdin, kill. */
import { CommandExitError, type Sandbox } from 'e2b';
import { type CheckRecorder, expectThat } from './checks.ts';

export async function commandChecks(checks: CheckRecorder, s: Sandbox): Promise<void> {
  await checks.run('envd-execute', 'commands.run', async () => {
    const ok = await s.commands.run('echo out; echo err >&2');
    expectThat(
      ok.exitCode === 0 && ok.stdout === 'out\n' && ok.stderr === 'err\n',
      'stdout out, stderr err, exit 0',
      ok,
    );
    const failed = await s.commands.run('exit 3').then(
      () => 'no error',
      (e: unknown) => (e instanceof CommandExitError ? e.exitCode : String(e)),
    );
    expectThat(failed === 3, 'CommandExitError with exitCode 3', failed);
    return 'stdout, stderr and exit code 0; a non-zero exit throws CommandExitError with its code';
  });
  await checks.run('envd-execute', 'commands.run streamed output', async () => {
    const seen: Array<{ at: number; data: string }> = [];
    const t0 = performance.now();
    await s.commands.run('echo first; sleep 1.5; echo second', {
      onStdout: (data) => void seen.push({ at: performance.now() - t0, data }),
    });
    const first = seen.find((c) => c.data.includes('first'));
    const second = seen.find((c) => c.data.includes('second'));
    expectThat(
      !!first && !!second && second.at - first.at > 1000,
      'first and second as separate chunks at least 1 s apart',
      seen,
    );
    return `onStdout got "first" at ${Math.round(first!.at)} ms and "second" at ${Math.round(second!.at)} ms: output streams as produced`;
  });
  await checks.run('envd-execute', 'background + wait', async () => {
    const handle = await s.commands.run('sleep 1; echo done', { background: true });
    const listed = (await s.commands.list()).some((p) => p.pid === handle.pid);
    const result = await handle.wait();
    expectThat(
      listed && result.exitCode === 0 && result.stdout.trim() === 'done',
      'listed while running, then done with exit 0',
      { listed, result },
    );
    return `run({ background: true }) -> pid ${handle.pid}, in commands.list(); wait() -> "done", exit 0`;
  });
  await checks.run('envd-execute', 'stdin', async () => {
    const handle = await s.commands.run('head -n 1', { background: true, stdin: true });
    await s.commands.sendStdin(handle.pid, 'line from the host\n');
    const result = await handle.wait();
    expectThat(result.stdout === 'line from the host\n', 'the line sent on stdin echoed', result.stdout);
    return `sendStdin(pid, ...) reached the process: it printed the line and exited ${result.exitCode}`;
  });
  await checks.run('envd-execute', 'commands.kill', async () => {
    const handle = await s.commands.run('sleep 600', { background: true });
    const killed = await s.commands.kill(handle.pid);
    const outcome = await handle.wait().then(
      (r) => `exited ${r.exitCode}`,
      (e: unknown) => (e instanceof CommandExitError ? `CommandExitError ${e.exitCode} (${e.error ?? ''})` : String(e)),
    );
    const stillListed = (await s.commands.list()).some((p) => p.pid === handle.pid);
    expectThat(
      killed && !stillListed && outcome.startsWith('CommandExitError'),
      'kill true, the wait to fail and the pid gone',
      { killed, outcome, stillListed },
    );
    return `kill(${handle.pid}) -> true; wait() -> ${outcome}; no longer listed`;
  });
}
