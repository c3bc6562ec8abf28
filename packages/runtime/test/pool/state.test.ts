import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PoolStateFile, type PoolState } from '../../src/pool/state.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cpt-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entry = (id: string) => ({
  id,
  tier: 'hot' as const,
  status: 'idle' as const,
  createdAt: '2026-01-01T00:00:00.000Z',
});

describe('pool state file and checkout journal', () => {
  it('a journaled checkout is seen by the next load even though the state file was not rewritten', async () => {
    const state: PoolState = {
      version: 1,
      template: 't',
      mode: 'prewarm',
      entries: [entry('t-00000001'), entry('t-00000002')],
    };
    const file = new PoolStateFile(dir, 't', join(dir, 'run'));
    await file.save(() => state);
    file.journalCheckout('t-00000002', '2026-01-01T00:00:01.000Z');
    // No close(), no save: what a successor of a SIGKILLed controller finds.
    const seen = await new PoolStateFile(dir, 't', join(dir, 'run')).load();
    expect(seen!.entries.map((e) => [e.id, e.status, e.checkedOutAt])).toEqual([
      ['t-00000001', 'idle', undefined],
      ['t-00000002', 'checked-out', '2026-01-01T00:00:01.000Z'],
    ]);
    await file.close();
  });

  it('a save that covers every journal line empties the journal; one that does not keeps it', async () => {
    const state: PoolState = {
      version: 1,
      template: 't',
      mode: 'prewarm',
      entries: [entry('t-00000001'), entry('t-00000002')],
    };
    const file = new PoolStateFile(dir, 't', join(dir, 'run'));
    file.journalCheckout('t-00000001', '2026-01-01T00:00:01.000Z');
    state.entries[0]!.status = 'checked-out';
    // A checkout journaled while the write is in flight (after its snapshot was taken) is not covered: its line stays.
    await file.save(() => {
      const taken = structuredClone(state);
      queueMicrotask(() => file.journalCheckout('t-00000002', '2026-01-01T00:00:02.000Z'));
      return taken;
    });
    expect((await readFile(file.path, 'utf8')).includes('"t-00000002","tier":"hot","status":"idle"')).toBe(true);
    expect(await readFile(file.journalPath, 'utf8')).toContain('t-00000002');
    state.entries[1]!.status = 'checked-out';
    await file.save(() => state);
    expect(await readFile(file.journalPath, 'utf8')).toBe('');
    await file.close();
  });

  it('a torn state file is refused with its path, and nothing is changed', async () => {
    await writeFile(join(dir, 't.json'), '{"version":1,"entr');
    await expect(new PoolStateFile(dir, 't', join(dir, 'run')).load()).rejects.toThrow(
      /t\.json is corrupt: not JSON .*left as it is/,
    );
    expect(await readFile(join(dir, 't.json'), 'utf8')).toBe('{"version":1,"entr');
  });

  it('a state file with a field of the wrong kind is refused naming the field, and left as it is', async () => {
    const text = JSON.stringify({
      version: 1,
      template: 't',
      mode: 'prewarm',
      entries: [entry('t-00000001'), { ...entry('t-00000002'), status: 'lent' }],
    });
    await writeFile(join(dir, 't.json'), text);
    await writeFile(join(dir, 't.checkouts'), 't-00000001 2026-01-01T00:00:01.000Z\n');
    await expect(new PoolStateFile(dir, 't', join(dir, 'run')).load()).rejects.toThrow(
      /t\.json is corrupt: field entries\.1\.status: /,
    );
    expect(await readFile(join(dir, 't.json'), 'utf8')).toBe(text);
    expect(await readFile(join(dir, 't.checkouts'), 'utf8')).toBe('t-00000001 2026-01-01T00:00:01.000Z\n');
  });

  it('a journal line that is not `ID ISO-TIME` is refused naming the journal and the line', async () => {
    const state: PoolState = { version: 1, template: 't', mode: 'prewarm', entries: [entry('t-00000001')] };
    await new PoolStateFile(dir, 't', join(dir, 'run')).save(() => state);
    await writeFile(join(dir, 't.checkouts'), 't-00000001 2026-01-01T00:00:01.000Z\nt-00000001 yesterday\n');
    await expect(new PoolStateFile(dir, 't', join(dir, 'run')).load()).rejects.toThrow(
      /t\.checkouts is corrupt: field line 2\.1: expected an ISO date-time/,
    );
    expect(await readFile(join(dir, 't.checkouts'), 'utf8')).toBe(
      't-00000001 2026-01-01T00:00:01.000Z\nt-00000001 yesterday\n',
    );
  });

  it('a load and a save of unchanged state write the same bytes (the schema check does not reorder keys)', async () => {
    const checkpoint = {
      hypervisor: 'qemu',
      hypervisorVersion: '7.2',
      image: 'g',
      memory: 'template',
      bytes: 1,
      createdAt: '2026-01-01T00:00:00.000Z',
      path: join(dir, 't', 'x.state'),
      memoryImage: join(dir, 't', 'x.state.mem'),
      files: [join(dir, 't', 'x.state'), join(dir, 't', 'x.state.mem')],
    };
    const text =
      JSON.stringify({
        entries: [{ ...entry('t-00000001'), checkpoint }],
        version: 1,
        template: 't',
        mode: 'durable',
      }) + '\n';
    await writeFile(join(dir, 't.json'), text);
    const file = new PoolStateFile(dir, 't', join(dir, 'run'));
    const loaded = (await file.load())!;
    await file.save(() => loaded);
    expect(await readFile(join(dir, 't.json'), 'utf8')).toBe(text);
  });

  describe('a tampered state file cannot name a folder outside the pool', () => {
    const vm = (runDir: string) => ({
      hypervisor: 'qemu',
      name: 'cp-t-00000001',
      pid: 4242,
      pidStartTime: '1',
      runDir,
      spec: { name: 'cp-t-00000001', image: { name: 'g', memoryMiB: 256, vcpus: 1 }, memory: 'template', runDir },
      detail: {},
    });

    for (const [how, runDir] of [
      ['directly', (outside: string) => outside],
      ['through ..', (outside: string) => join(dir, 'run', 't', '..', '..', '..', outside.split('/').pop()!)],
      ['through a symlink', (_outside: string) => join(dir, 'run', 't', 'link')],
    ] as const) {
      it(`${how}: refused naming entries.0.vm.runDir, and the folder survives`, async () => {
        const outside = await mkdtemp(join(tmpdir(), 'cpt-outside-'));
        try {
          await writeFile(join(outside, 'precious'), 'keep me');
          await mkdir(join(dir, 'run', 't'), { recursive: true });
          await symlink(outside, join(dir, 'run', 't', 'link'));
          const text = JSON.stringify({
            version: 1,
            template: 't',
            mode: 'prewarm',
            entries: [{ ...entry('t-00000001'), vm: vm(runDir(outside)) }],
          });
          await writeFile(join(dir, 't.json'), text);
          await expect(new PoolStateFile(dir, 't', join(dir, 'run')).load()).rejects.toThrow(
            /t\.json is corrupt: field entries\.0\.vm\.runDir: expected a path inside/,
          );
          expect(await readdir(outside)).toEqual(['precious']);
          expect(await readFile(join(dir, 't.json'), 'utf8')).toBe(text);
        } finally {
          await rm(outside, { recursive: true, force: true });
        }
      });
    }

    it('a run folder and checkpoint inside the pool are accepted', async () => {
      const cp = {
        hypervisor: 'qemu',
        hypervisorVersion: '7.2',
        image: 'g',
        memory: 'template',
        path: join(dir, 't', 't-00000001.state'),
        files: [join(dir, 't', 't-00000001.state')],
        bytes: 1,
        createdAt: '2026-01-01T00:00:00.000Z',
      };
      const state = {
        version: 1,
        template: 't',
        mode: 'durable',
        entries: [{ ...entry('t-00000001'), vm: vm(join(dir, 'run', 't', 't-00000001')), checkpoint: cp }],
      };
      await writeFile(join(dir, 't.json'), JSON.stringify(state));
      expect(await new PoolStateFile(dir, 't', join(dir, 'run')).load()).toEqual(state);
    });

    it('a checkpoint file outside the pool folder is refused naming it', async () => {
      const cp = {
        hypervisor: 'qemu',
        hypervisorVersion: '7.2',
        image: 'g',
        memory: 'template',
        path: join(dir, 't', 'x.state'),
        files: [join(dir, 't', 'x.state'), '/etc/passwd'],
        bytes: 1,
        createdAt: '2026-01-01T00:00:00.000Z',
      };
      await writeFile(
        join(dir, 't.json'),
        JSON.stringify({ version: 1, template: 't', mode: 'durable', base: cp, entries: [] }),
      );
      await expect(new PoolStateFile(dir, 't', join(dir, 'run')).load()).rejects.toThrow(
        /field base\.files\.1: expected a path inside/,
      );
    });
  });
});
