/** The runtime's public API is one entry per area; other packages may not reach into its files. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

describe('package exports', () => {
  it('exports one entry per area and no wildcard', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string> };
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './host', './hypervisor', './net', './pool', './sandbox']);
    for (const target of Object.values(pkg.exports)) expect(target).not.toContain('*');
  });

  it('every area entry loads', async () => {
    for (const area of ['host', 'hypervisor', 'net', 'pool', 'sandbox']) {
      const mod = (await import(join(root, 'src', area, 'index.ts'))) as Record<string, unknown>;
      expect(Object.keys(mod).length, area).toBeGreaterThan(0);
    }
  });
});
