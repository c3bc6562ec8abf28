import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from '@coppice/runtime/host';
import { ChildProcesses } from '../../src/harness/child-processes.ts';

async function output(stream: Readable): Promise<string> {
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  await once(stream, 'close');
  return text;
}

describe('ChildProcesses', () => {
  let kids = new ChildProcesses();
  afterEach(async () => {
    await kids.terminateAll(100);
    kids = new ChildProcesses();
  });

  it('passes every argv word literally: no word is read as shell syntax', async () => {
    const words = ['$(touch /nonexistent-coppice)', '`id`', "it's", 'a b', '', '*', '; exit 3', '$HOME'];
    const child = kids.spawn(['printf', '[%s]', ...words]);
    const [text, [code]] = await Promise.all([output(child.stdout as Readable), once(child, 'exit')]);
    expect(code).toBe(0);
    expect(text).toBe(words.map((w) => `[${w}]`).join(''));
  });

  it('tracks the program itself by pid (the shell replaces itself), and ends it', async () => {
    const child = kids.spawn(['cat'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const pid = child.pid!;
    const stdin = child.stdin as Writable;
    const first = once(child.stdout as Readable, 'data');
    stdin.write('0');
    await first; // cat answers: the shell has replaced itself with it
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('cat');
    expect(kids.pids).toEqual([pid]);
    // a signal sent by pid reaches the program: a stopped cat answers only after SIGCONT
    process.kill(pid, 'SIGSTOP');
    const answer = once(child.stdout as Readable, 'data');
    stdin.write('x');
    process.kill(pid, 'SIGCONT');
    expect(String((await answer)[0])).toBe('x');
    expect(await kids.terminateAll(100)).toEqual([`pid ${pid} (cat)`]);
    expect(isAlive(pid)).toBe(false);
  });

  it('forgets a helper that exits by itself, and passes its environment and folder', async () => {
    const child = kids.spawn(['sh', '-c', 'printf "%s %s" "$COPPICE_TEST_VALUE" "$(pwd)"'], {
      env: { COPPICE_TEST_VALUE: 'v1' },
      cwd: '/tmp',
    });
    const [text] = await Promise.all([output(child.stdout as Readable), once(child, 'exit')]);
    expect(text).toBe('v1 /tmp');
    expect(kids.pids).toEqual([]);
    expect(await kids.terminateAll(100)).toEqual([]);
  });

  it('reports a program that does not exist by its exit status (127) and stderr, and refuses an empty argv', async () => {
    const child = kids.spawn(['coppice-no-such-program-xyz']);
    const [err, [code]] = await Promise.all([output(child.stderr as Readable), once(child, 'exit')]);
    expect(code).toBe(127);
    expect(err).toMatch(/coppice-no-such-program-xyz: not found/);
    expect(() => kids.spawn([])).toThrow('spawn: empty argv');
  });
});
