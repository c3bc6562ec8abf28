import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ProcessRunner } from '../../src/host/command-runner.ts';
import { childPids, describeProcess, isAlive, terminate } from '../../src/host/processes.ts';

describe('childPids / terminate', () => {
  it("finds this process's children and ends them, even a SIGSTOP'd one that ignores SIGTERM", async () => {
    const plain = spawn('sleep', ['30'], { stdio: 'ignore' });
    const stubborn = spawn('sh', ['-c', 'trap "" TERM; while :; do sleep 1; done'], { stdio: 'ignore' });
    const pids = [plain.pid!, stubborn.pid!];
    await new Promise((r) => setTimeout(r, 100));
    process.kill(plain.pid!, 'SIGSTOP');
    const children = await childPids(process.pid, 'linux', new ProcessRunner());
    expect(children).toEqual(expect.arrayContaining(pids));
    expect(await describeProcess(plain.pid!)).toBe(`pid ${plain.pid} (sleep 30)`);
    const killed = await terminate(pids, 300);
    expect(killed).toEqual([stubborn.pid]); // sleep ended on SIGTERM (after SIGCONT); the trap needed SIGKILL
    await new Promise((r) => setTimeout(r, 50));
    expect(pids.filter(isAlive)).toEqual([]);
  });
});
