/** The persistent `nft -i` session: one line = one atomic transaction, errors attributed to the right script. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NftSession, NftSessionError } from '../../src/net/firewall/nftables/session.ts';
import { canRunKernelTests, runner } from './helpers.ts';

const skip = await canRunKernelTests();
const T = 'cpq';

describe.skipIf(skip)('NftSession', () => {
  const session = new NftSession(T);
  afterAll(async () => {
    session.close();
    await runner.run(['nft', `add table inet ${T}; delete table inet ${T}`]);
  });

  it('applies a multi-command script atomically and reports a failure without applying any of it', async () => {
    await session.apply(
      `add table inet ${T}\nadd set inet ${T} s { type ipv4_addr; flags interval; auto-merge; }\nadd element inet ${T} s { 10.0.0.0/8 }`,
    );
    const bad = session.apply(
      `add element inet ${T} s { 192.0.2.1 }\nadd chain inet ${T} c\ndelete chain inet ${T} missing`,
    );
    await expect(bad).rejects.toBeInstanceOf(NftSessionError);
    await expect(bad).rejects.toThrow(/missing/);
    // queued right behind the failure: must succeed and not inherit the previous error
    const [ok1, ok2] = await Promise.allSettled([
      session.apply(`add element inet ${T} s { 198.51.100.1 }`),
      session.apply(`add element inet ${T} s { 203.0.113.1 }`),
    ]);
    expect(ok1.status).toBe('fulfilled');
    expect(ok2.status).toBe('fulfilled');
    const listed = (await runner.run(['nft', 'list', 'table', 'inet', T])).stdout;
    expect(listed).toContain('198.51.100.1');
    expect(listed).toContain('203.0.113.1');
    expect(listed).not.toContain('192.0.2.1'); // the failed transaction added nothing
    expect(listed).not.toMatch(/chain c\b/);
  });

  it('sends a long script through an included file: one transaction either way, and the file goes once nft answered', async () => {
    const dir = () => (session as unknown as { dir?: string }).dir;
    const many = (third: number) => Array.from({ length: 250 }, (_, i) => `198.18.${third}.${i}`);
    const good = `add element inet ${T} s { ${many(1).join(', ')} }\nadd element inet ${T} s { 198.18.2.1 }\n`;
    expect(good.length).toBeGreaterThan(2048);
    await session.apply(good);
    const listed = (await runner.run(['nft', 'list', 'set', 'inet', T, 's'])).stdout;
    expect(listed).toContain('198.18.1.0-198.18.1.249'); // auto-merge joins the 250 addresses
    expect(listed).toContain('198.18.2.1');
    // a long script whose last command fails applies nothing of it
    const bad = session.apply(`add element inet ${T} s { ${many(3).join(', ')} }\ndelete chain inet ${T} missing\n`);
    await expect(bad).rejects.toBeInstanceOf(NftSessionError);
    expect((await runner.run(['nft', 'list', 'set', 'inet', T, 's'])).stdout).not.toContain('198.18.3.');
    // the files are removed in the background once nft has answered
    for (let i = 0; i < 50 && (await readdir(dir()!)).length; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await readdir(dir()!)).toEqual([]);
  });

  it('removes script folders of this table left by a process that is gone (a controller killed with SIGKILL), and no other', async () => {
    const dead = spawnSync('true').pid!;
    const stale = join(tmpdir(), `${T}-nft-${dead}-aaaaaa`);
    const live = join(tmpdir(), `${T}-nft-${process.pid}-bbbbbb`);
    const otherTable = join(tmpdir(), `cpz-nft-${dead}-cccccc`);
    for (const d of [stale, live, otherTable]) mkdirSync(d);
    writeFileSync(join(stale, '7.nft'), 'flush ruleset\n');
    const fresh = new NftSession(T);
    try {
      await fresh.apply(
        `add element inet ${T} s { ${Array.from({ length: 250 }, (_, i) => `198.18.9.${i}`).join(', ')} }`,
      );
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(live)).toBe(true);
      expect(existsSync(otherTable)).toBe(true);
    } finally {
      fresh.close();
      for (const d of [stale, live, otherTable]) rmSync(d, { recursive: true, force: true });
    }
  });

  it('restarts nft if the process dies', async () => {
    (session as unknown as { child?: { kill(s: string): void } }).child?.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    await session.apply(`add element inet ${T} s { 192.0.2.77 }`);
    expect((await runner.run(['nft', 'list', 'table', 'inet', T])).stdout).toContain('192.0.2.77');
  });
});
