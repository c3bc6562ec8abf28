/** The state files: one per sandbox, renamed to a new name on every write, the newest kept after a crash. */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateStore, type SandboxRecord } from '../../src/net/state.ts';
import { DEFAULT_POLICY, type InterfaceName, type SandboxId } from '../../src/net/types.ts';
import { tempDir } from './helpers.ts';

const ID = '0123456789ab' as SandboxId;

function record(allowOut: string[], id = ID): SandboxRecord {
  return {
    id,
    host: 2,
    addresses: { ipv4: '10.79.0.2', ipv6: 'fd79::2' },
    endpoint: { kind: 'isolated', hostInterface: 'cpt-e00000000' as InterfaceName, isolation: 'cpt-e00000000' },
    policy: { ...DEFAULT_POLICY, allowOut },
    forwards: [],
    createdAt: '2026-11-28T00:00:00.000Z',
  };
}

describe('StateStore', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function store() {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const s = new StateStore(dir.path, 'cpt');
    await s.ensure();
    return { s, dir: join(dir.path, 'cpt'), root: dir.path };
  }

  it('keeps one file per sandbox across writes, under a new name each time, and loads the last write', async () => {
    const { s, dir, root } = await store();
    await s.write(record(['192.0.2.1']));
    await s.write(record(['192.0.2.2']));
    await s.write(record(['192.0.2.3']));
    expect(await readdir(dir)).toEqual([`${ID}.2.json`]);
    const again = new StateStore(root, 'cpt');
    const { records, problems } = await again.load();
    expect(problems).toEqual([]);
    expect(records.map((r) => r.policy.allowOut)).toEqual([['192.0.2.3']]);
    // a store that loaded the file goes on from its number and removes it
    await again.write(record(['192.0.2.4']));
    expect(await readdir(dir)).toEqual([`${ID}.3.json`]);
    await again.remove(ID);
    expect(await readdir(dir)).toEqual([]);
  });

  it('after a writer killed between its rename and its delete, loads the newest file and deletes the older ones', async () => {
    const { s, dir, root } = await store();
    const other = 'ba9876543210' as SandboxId;
    await s.write(record(['192.0.2.9'], other));
    // what a crash can leave: the name of the earlier scheme, two numbered files, a temp file
    await writeFile(join(dir, `${ID}.json`), JSON.stringify(record(['192.0.2.1'])));
    await writeFile(join(dir, `${ID}.9.json`), JSON.stringify(record(['192.0.2.2'])));
    await writeFile(join(dir, `${ID}.10.json`), JSON.stringify(record(['192.0.2.3'])));
    await writeFile(join(dir, `.${ID}.1.2.tmp`), '{"torn');
    const loaded = new StateStore(root, 'cpt');
    const { records, problems } = await loaded.load();
    expect(problems).toEqual([]);
    expect(records.map((r) => [r.id, r.policy.allowOut]).sort()).toEqual(
      [
        [ID, ['192.0.2.3']],
        [other, ['192.0.2.9']],
      ].sort(),
    );
    expect((await readdir(dir)).sort()).toEqual([`${ID}.10.json`, `${other}.0.json`].sort());
    await loaded.write(record(['192.0.2.4']));
    expect(JSON.parse(await readFile(join(dir, `${ID}.11.json`), 'utf8')).policy.allowOut).toEqual(['192.0.2.4']);
    expect((await readdir(dir)).sort()).toEqual([`${ID}.11.json`, `${other}.0.json`].sort());
  });

  it('a file of the earlier scheme alone is loaded, replaced by the next write and removed by remove', async () => {
    const { dir, root } = await store();
    await writeFile(join(dir, `${ID}.json`), JSON.stringify(record(['192.0.2.1'])));
    const s = new StateStore(root, 'cpt');
    expect((await s.load()).records).toHaveLength(1);
    await s.write(record(['192.0.2.5']));
    expect(await readdir(dir)).toEqual([`${ID}.0.json`]);
    await writeFile(join(dir, `${ID}.json`), JSON.stringify(record(['192.0.2.1'])));
    await s.remove(ID);
    expect(await readdir(dir)).toEqual([]);
  });
  it('a record with a field of the wrong kind is reported naming the file and the field, and left in place with its older version', async () => {
    const { dir, root } = await store();
    await writeFile(join(dir, `${ID}.3.json`), JSON.stringify(record(['192.0.2.1'])));
    const bad = JSON.stringify({ ...record(['192.0.2.2']), forwards: 'all of them' });
    await writeFile(join(dir, `${ID}.4.json`), bad);
    const { records, problems } = await new StateStore(root, 'cpt').load();
    expect(records).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`${ID}\\.4\\.json is corrupt: field forwards: .*left as it is`));
    expect((await readdir(dir)).sort()).toEqual([`${ID}.3.json`, `${ID}.4.json`]);
    expect(await readFile(join(dir, `${ID}.4.json`), 'utf8')).toBe(bad);
  });

  it('a record whose values break the rules they were written under is refused naming the field', async () => {
    const { dir, root } = await store();
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['host not a whole number', { host: 2.5 }, /field host: /],
      [
        'an interface name with a space',
        { endpoint: { kind: 'tap', hostInterface: 'cpt e0' } },
        /field endpoint\.hostInterface: invalid interface name/,
      ],
      [
        'an isolation name with a shell character',
        { endpoint: { kind: 'isolated', hostInterface: 'cpt-e0', isolation: 'a;b' } },
        /field endpoint\.isolation: invalid/,
      ],
      ['createdAt not a date', { createdAt: { at: 1 } }, /field createdAt: /],
      ['another sandbox than the file name says', { id: 'ba9876543210' }, /field id: .*file name/],
    ];
    for (const [what, change, expected] of cases) {
      await writeFile(join(dir, `${ID}.0.json`), JSON.stringify({ ...record([]), ...change }));
      const { records, problems } = await new StateStore(root, 'cpt').load();
      expect(records, what).toEqual([]);
      expect(problems.join('\n'), what).toMatch(expected);
    }
  });
});
