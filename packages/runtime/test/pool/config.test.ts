import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPoolConfig, PoolInputError, tiersOf, validatePoolConfig } from '../../src/pool/index.ts';
import { findTemplate, loadTemplates, saveTemplate } from '../../src/pool/templates.ts';

const image = { name: 'g', kernel: '/k', initrd: '/i', memoryMiB: 128, vcpus: 1 };

describe('pool configuration', () => {
  it('accepts the defaults of every mode and names the tiers each one keeps', () => {
    for (const mode of ['full', 'prewarm', 'durable', 'two-tier'] as const)
      expect(() => validatePoolConfig(defaultPoolConfig('debian-256', image, mode))).not.toThrow();
    expect(tiersOf('full')).toEqual([]);
    expect(tiersOf('two-tier')).toEqual(['durable', 'hot']);
  });

  it('rejects bad names, sizes and paths with the field named', () => {
    const ok = defaultPoolConfig('t', image, 'prewarm');
    expect(() => validatePoolConfig({ ...ok, template: '../etc' })).toThrow(/template name/);
    expect(() => validatePoolConfig({ ...ok, template: 'x'.repeat(21) })).toThrow(PoolInputError);
    expect(() => validatePoolConfig({ ...ok, size: { hot: -1, durable: 0 } })).toThrow(/size.hot/);
    expect(() => validatePoolConfig({ ...ok, size: { hot: 1.5, durable: 0 } })).toThrow(/size.hot/);
    expect(() => validatePoolConfig({ ...ok, size: { hot: 0, durable: 257 } })).toThrow(/size.durable/);
    expect(() => validatePoolConfig({ ...ok, stateDir: 'relative' })).toThrow(/absolute/);
    // QEMU splits option values (-drive file=..., socket path=..., mem-path=...) at commas.
    expect(() => validatePoolConfig({ ...ok, runRoot: '/run/a,b' })).toThrow(
      /runRoot "\/run\/a,b".*comma.*COPPICE_RUN_DIR/,
    );
    expect(() => validatePoolConfig({ ...ok, stateDir: '/var/a,b' })).toThrow(
      /stateDir "\/var\/a,b".*comma.*COPPICE_POOL_STATE_DIR/,
    );
    expect(() => validatePoolConfig({ ...ok, mode: 'warm' as never })).toThrow(/mode/);
  });
});

describe('template registry', () => {
  it('stores templates atomically and answers an unknown one with the known names, changing nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cpt-tpl-'));
    try {
      const t = {
        name: 'debian-256',
        memoryMiB: 256,
        vcpus: 1,
        mode: 'two-tier' as const,
        hot: 2,
        durable: 2,
        guestDir: '/g',
      };
      await saveTemplate(dir, t);
      await saveTemplate(dir, { ...t, hot: 3 });
      expect(await loadTemplates(dir)).toEqual([{ ...t, hot: 3 }]);
      const before = await readFile(join(dir, 'templates.json'), 'utf8');
      await expect(findTemplate(dir, 'nope')).rejects.toThrow(/unknown template "nope" \(known: debian-256\)/);
      await expect(saveTemplate(dir, { ...t, name: 'bad name' })).rejects.toThrow(PoolInputError);
      await expect(saveTemplate(dir, { ...t, memoryMiB: 32 })).rejects.toThrow(/memory 32 MiB/);
      expect(await readFile(join(dir, 'templates.json'), 'utf8')).toBe(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('a registry with a bad field is refused naming the file and the field, by load and by save, and left as it is', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cpt-tpl-'));
    try {
      const good = {
        name: 'debian-256',
        memoryMiB: 256,
        vcpus: 1,
        mode: 'two-tier',
        hot: 2,
        durable: 2,
        guestDir: '/g',
      };
      for (const [bad, field] of [
        [[good, { ...good, name: 'other', memoryMiB: 'lots' }], /field 1\.memoryMiB: /],
        [[{ ...good, name: '../../etc' }], /field 0\.name: /],
        [[{ ...good, guestDir: 'relative' }], /field 0\.guestDir: /],
        [{ templates: [good] }, /templates\.json is corrupt: .*expected array/],
      ] as const) {
        const text = JSON.stringify(bad);
        await writeFile(join(dir, 'templates.json'), text);
        const pattern = new RegExp(`templates\\.json is corrupt: .*${field.source}|${field.source}`);
        await expect(loadTemplates(dir)).rejects.toThrow(pattern);
        await expect(loadTemplates(dir)).rejects.toThrow(/left as it is/);
        await expect(saveTemplate(dir, { ...good, name: 'new', mode: 'durable' })).rejects.toThrow(pattern);
        expect(await readFile(join(dir, 'templates.json'), 'utf8')).toBe(text);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
