/**
 * The netlink element writer (native/nft-set-elements.c) against the real kernel: what it adds and deletes is what
 * nft lists, a transaction is all or nothing, the binary refuses malformed requests on its own, and a dead helper is
 * restarted.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  builtSetElementWriter,
  SetElementWriter,
  SetElementWriterError,
} from '../../src/net/firewall/nftables/set-element-writer.ts';
import { canRunKernelTests, runner } from './helpers.ts';

const skip = await canRunKernelTests();
const T = 'cpw';

const list = async (set: string) => (await runner.run(['nft', 'list', 'set', 'inet', T, set])).stdout;

describe.skipIf(skip)('SetElementWriter', () => {
  const binary = builtSetElementWriter();
  let writer: SetElementWriter;
  beforeAll(async () => {
    if (!binary)
      throw new Error(
        'native/bin/nft-set-elements is not built: run packages/runtime/native/build.sh (scripts/setup.sh does)',
      );
    writer = new SetElementWriter(binary, 'inet', T);
    const r = await runner.run(['nft', '-f', '-'], {
      input: `table inet ${T} {
  set allow4 { type ipv4_addr . ipv4_addr; }
  set allow6 { type ipv6_addr . ipv6_addr; }
  set allow4net_0 { type ipv4_addr . ipv4_addr; flags interval; }
  set allow6net_0 { type ipv6_addr . ipv6_addr; flags interval; }
}`,
    });
    expect(r.stderr).toBe('');
  });
  afterAll(async () => {
    writer?.close();
    await runner.run(['nft', `add table inet ${T}; delete table inet ${T}`]);
  });

  it('adds and deletes exact and range elements that nft then lists as the same addresses and CIDRs', async () => {
    await writer.apply({
      gone: new Map(),
      added: new Map([
        ['allow4', ['10.78.0.2 . 198.18.0.1', '10.78.0.2 . 198.18.0.2']],
        ['allow6', ['fd78::2 . 2001:db8::1']],
        ['allow4net_0', ['10.78.0.2 . 198.51.100.0/24', '10.78.0.2 . 203.0.113.128/25']],
        ['allow6net_0', ['fd78::2 . 2001:db8:8000::/33']],
      ]),
    });
    expect(await list('allow4')).toMatch(/10\.78\.0\.2 \. 198\.18\.0\.1,\s+10\.78\.0\.2 \. 198\.18\.0\.2 }/);
    expect(await list('allow6')).toContain('fd78::2 . 2001:db8::1 }');
    expect(await list('allow4net_0')).toMatch(
      /10\.78\.0\.2 \. 198\.51\.100\.0\/24,\s+10\.78\.0\.2 \. 203\.0\.113\.128\/25 }/,
    );
    expect(await list('allow6net_0')).toContain('fd78::2 . 2001:db8:8000::/33 }');
    // the kernel matches what it lists: nft finds the elements by their text
    const get = await runner.run(['nft', 'get', 'element', 'inet', T, 'allow4net_0', '{ 10.78.0.2 . 198.51.100.77 }']);
    expect(get.stdout).toContain('198.51.100.0/24');

    await writer.apply({
      gone: new Map([
        ['allow4', ['10.78.0.2 . 198.18.0.1']],
        ['allow4net_0', ['10.78.0.2 . 198.51.100.0/24']],
      ]),
      // a range that overlaps the deleted one is accepted because deletes go first
      added: new Map([['allow4net_0', ['10.78.0.2 . 198.51.100.0/25']]]),
    });
    expect(await list('allow4')).not.toContain('198.18.0.1 ');
    expect(await list('allow4')).toContain('198.18.0.2');
    const ranges = await list('allow4net_0');
    expect(ranges).toContain('10.78.0.2 . 198.51.100.0/25');
    expect(ranges).toContain('10.78.0.2 . 203.0.113.128/25');
    expect(ranges).not.toContain('/24');
  });

  it('applies nothing of a transaction the kernel refuses, and says why', async () => {
    const many = Array.from({ length: 600 }, (_, i) => `10.78.0.3 . 198.19.${i >> 8}.${i & 255}`);
    const bad = writer.apply({
      gone: new Map([['allow4', ['10.78.0.3 . 192.0.2.200']]]),
      added: new Map([['allow4', many]]),
    });
    await expect(bad).rejects.toBeInstanceOf(SetElementWriterError);
    await expect(bad).rejects.toThrow(/No such file or directory \(errno 2\)/);
    expect(await list('allow4')).not.toContain('10.78.0.3');
    // an add of an element that exists is refused too (NLM_F_EXCL), like nft's `create element`
    await expect(
      writer.apply({ gone: new Map(), added: new Map([['allow4', ['10.78.0.2 . 198.18.0.2']]]) }),
    ).rejects.toThrow(/File exists/);
    // the next transaction is unaffected
    await writer.apply({ gone: new Map(), added: new Map([['allow4', many]]) });
    expect((await list('allow4')).match(/10\.78\.0\.3 \./g)).toHaveLength(600);
  });

  it('carries the largest change cubenet makes, a 10 000-entry list replaced by another, in one batch', async () => {
    const v6 = (base: number) =>
      Array.from(
        { length: 10_000 },
        (_, i) => `fd78::7 . 2001:db8:${(base + (i >> 12)).toString(16)}::${(i & 0xfff).toString(16)}`,
      );
    await writer.apply({ gone: new Map(), added: new Map([['allow6', v6(0x100)]]) });
    await writer.apply({ gone: new Map([['allow6', v6(0x100)]]), added: new Map([['allow6', v6(0x200)]]) });
    const listed = await list('allow6');
    expect(listed.match(/fd78::7 \. 2001:db8:2/g)).toHaveLength(10_000);
    expect(listed).not.toContain('fd78::7 . 2001:db8:1');
    await writer.apply({ gone: new Map([['allow6', v6(0x200)]]), added: new Map() });
    expect(await list('allow6')).not.toContain('fd78::7 ');
  });

  it('the binary refuses malformed requests itself and applies none of them', async () => {
    const child = spawn(binary!, ['inet', T], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = createInterface({ input: child.stdout });
    const answers: string[] = [];
    const done = new Promise<void>((resolve) =>
      lines.on('line', (l) => (answers.push(l), answers.length === 8 && resolve())),
    );
    child.stdin.write(
      [
        '1 a allow4 0a4e0009c6120001 a allow4;flush 0a4e0009c6120002',
        '2 a allow4 0A4E0009C6120003',
        '3 a allow4 0a4e0009c612000',
        '4 x allow4 0a4e0009c6120004',
        '5 a allow4net_0 0a4e0009c6336400-0a4e0009',
        'seven a allow4 0a4e0009c6120005',
        `6 a ${'s'.repeat(300)} 0a4e0009c6120006`,
      ].join('\n') + '\n',
    );
    await done;
    child.kill('SIGTERM');
    expect(answers[0]).toBe('ready');
    expect(answers.slice(1)).toEqual([
      '1 error 22 bad set name',
      '2 error 22 bad key (lowercase hex, at most 64 bytes)',
      '3 error 22 bad key (lowercase hex, at most 64 bytes)',
      '4 error 22 an element starts with a (create), e (ensure present) or d (delete)',
      '5 error 22 bad key end (lowercase hex, as long as the key)',
      '0 error 22 a request starts with a decimal sequence number (at most 9 digits)',
      '6 error 22 bad set name',
    ]);
    expect(await list('allow4')).not.toContain('10.78.0.9');
    const usage = await runner.run([binary!, 'inet', 'bad;name']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage');
  });

  it('starts a new helper when the old one died', async () => {
    const child = (writer as unknown as { child?: { pid?: number; kill(s: string): void } }).child;
    expect(child?.pid).toBeGreaterThan(0);
    child!.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    await writer.apply({ gone: new Map(), added: new Map([['allow6', ['fd78::4 . 2001:db8::4']]]) });
    expect(await list('allow6')).toContain('fd78::4 . 2001:db8::4');
  });
});
