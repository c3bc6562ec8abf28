/** api-server checks: the control-plane calls of `e2b`'s Sandbox class, on one sandbox of the base template. */
import { Sandbox, SandboxNotFoundError } from 'e2b';
import { type CheckRecorder, eventually, expectThat } from './checks.ts';

export const RIG_METADATA = { rig: 'e2b-compat' };

/** create, info, list, setTimeout, metrics, connect; returns the sandbox (undefined when create failed). */
export async function controlPlaneChecks(checks: CheckRecorder): Promise<Sandbox | undefined> {
  let sandbox: Sandbox | undefined;
  await checks.run('api-server', 'create', async () => {
    const t0 = performance.now();
    sandbox = await Sandbox.create('base', {
      timeoutMs: 600_000,
      metadata: RIG_METADATA,
      envs: { CPX_RIG: 'e2b-compat' },
    });
    const ms = Math.round(performance.now() - t0);
    const env = await sandbox.commands.run('echo "$CPX_RIG"');
    expectThat(env.stdout.trim() === 'e2b-compat', 'the create envVars in a command', env.stdout);
    return `Sandbox.create('base') -> ${sandbox.sandboxId} in ${ms} ms (domain ${sandbox.sandboxDomain}), its envs reach commands`;
  });
  if (!sandbox) {
    for (const call of ['info', 'list', 'setTimeout', 'metrics', 'connect']) {
      await checks.run('api-server', call, () => Promise.reject(new Error('not run: Sandbox.create failed')));
    }
    return undefined;
  }
  const s = sandbox;
  await checks.run('api-server', 'info', async () => {
    const info = await s.getInfo();
    expectThat(
      info.sandboxId === s.sandboxId && info.templateId !== '' && info.state === 'running',
      'its id, a template and state running',
      info,
    );
    expectThat(info.metadata.rig === 'e2b-compat', 'the metadata given at create', info.metadata);
    return `getInfo: state ${info.state}, template ${info.templateId}, ${info.cpuCount} vCPU, ${info.memoryMB} MB, envd ${info.envdVersion}`;
  });
  await checks.run('api-server', 'list', async () => {
    const paginator = Sandbox.list({ query: { metadata: RIG_METADATA, state: ['running'] } });
    const found: string[] = [];
    while (paginator.hasNext) found.push(...(await paginator.nextItems()).map((i) => i.sandboxId));
    expectThat(found.includes(s.sandboxId), `the list filtered by metadata to hold ${s.sandboxId}`, found);
    return `Sandbox.list({ metadata, state: running }) -> ${found.length} sandbox(es), including this one`;
  });
  await checks.run('api-server', 'setTimeout', async () => {
    const before = (await s.getInfo()).endAt.getTime();
    await s.setTimeout(900_000);
    const after = (await s.getInfo()).endAt.getTime();
    const fromNow = Math.round((after - Date.now()) / 1000);
    expectThat(after > before && fromNow > 850 && fromNow <= 905, 'endAt about 900 s from now', {
      before,
      after,
      fromNow,
    });
    return `setTimeout(900 s): endAt moved to ${fromNow} s from now`;
  });
  await checks.run('api-server', 'metrics', async () => {
    const metrics = await eventually(
      async () => {
        const m = await s.getMetrics();
        return m.length > 0 ? m : undefined;
      },
      20_000,
      'no metrics sample',
    );
    const last = metrics[metrics.length - 1]!;
    expectThat(
      last.memTotal > 0 && last.memUsed > 0 && last.cpuCount > 0,
      'memory and CPU figures from the guest',
      last,
    );
    return `getMetrics -> ${metrics.length} sample(s), last: cpu ${last.cpuUsedPct.toFixed(1)}% of ${last.cpuCount}, mem ${Math.round(last.memUsed / 2 ** 20)}/${Math.round(last.memTotal / 2 ** 20)} MiB`;
  });
  await checks.run('api-server', 'connect', async () => {
    const again = await Sandbox.connect(s.sandboxId);
    const run = await again.commands.run('echo connected');
    expectThat(
      again.sandboxId === s.sandboxId && run.stdout.trim() === 'connected',
      'the same sandbox, usable',
      run.stdout,
    );
    return `Sandbox.connect(${s.sandboxId}) to a running sandbox; a command runs through it`;
  });
  return s;
}

/** pause, resume (Sandbox.connect of a paused one), kill: last, on the sandbox the other groups used. */
export async function pauseResumeKillChecks(checks: CheckRecorder, s: Sandbox): Promise<void> {
  let pausedSleeper: number | undefined;
  await checks.run(
    'api-server',
    'pause',
    async () => {
      await s.files.write('/home/user/before-pause.txt', 'kept\n');
      const sleeper = await s.commands.run('sleep 900', { background: true });
      await s.pause();
      const info = await Sandbox.getInfo(s.sandboxId);
      expectThat(info.state === 'paused', 'state paused', info.state);
      pausedSleeper = sleeper.pid;
      return `pause(): getInfo says ${info.state}`;
    },
    300_000,
  );
  await checks.run(
    'api-server',
    'resume',
    async () => {
      const resumed = await Sandbox.connect(s.sandboxId);
      const info = await resumed.getInfo();
      const text = await resumed.files.read('/home/user/before-pause.txt');
      const alive = await resumed.commands.run(`kill -0 ${pausedSleeper ?? -1} && echo alive`);
      expectThat(
        info.state === 'running' && text === 'kept\n' && alive.stdout.trim() === 'alive',
        'running, with the file and the process of before the pause',
        { state: info.state, text, alive: alive.stdout },
      );
      return `Sandbox.connect of the paused sandbox: running, a file and a background process of before the pause intact`;
    },
    300_000,
  );
  await checks.run('api-server', 'kill', async () => {
    await s.kill();
    const gone = await Sandbox.getInfo(s.sandboxId).then(
      (i) => `still there: ${i.state}`,
      (e: unknown) =>
        e instanceof SandboxNotFoundError ? 'not found' : `${(e as Error).name}: ${(e as Error).message}`,
    );
    expectThat(gone === 'not found', 'getInfo after kill to throw SandboxNotFoundError', gone);
    return 'kill(): getInfo afterwards throws SandboxNotFoundError';
  });
}
