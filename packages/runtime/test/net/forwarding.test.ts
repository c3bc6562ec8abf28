/** ProcForwarding: host-wide forwarding turned on at init and put back when the last prefix using it tears down. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcForwarding } from '../../src/net/endpoint/linux/forwarding.ts';
import { tempDir } from './helpers.ts';

describe('ProcForwarding (files standing in for /proc)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function host(ipv4: string, ipv6: string) {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const files = { ipv4: join(dir.path, 'ip_forward'), ipv6: join(dir.path, 'forwarding') };
    await writeFile(files.ipv4, `${ipv4}\n`);
    await writeFile(files.ipv6, `${ipv6}\n`);
    const values = async () =>
      [await readFile(files.ipv4, 'utf8'), await readFile(files.ipv6, 'utf8')].map((v) => v.trim());
    return { forwarding: (prefix: string) => new ProcForwarding(join(dir.path, 'run'), prefix, files), values };
  }

  it('turns forwarding on and puts the old values back only after the last prefix tears down', async () => {
    const h = await host('0', '0');
    const a = h.forwarding('cpa');
    const b = h.forwarding('cpb');
    await a.enable();
    expect(await h.values()).toEqual(['1', '1']);
    await b.enable(); // finds it on: must not record 1 as the value to restore
    await a.restore();
    expect(await h.values()).toEqual(['1', '1']); // b still needs it
    await b.restore();
    expect(await h.values()).toEqual(['0', '0']);
    await b.restore(); // idempotent
    expect(await h.values()).toEqual(['0', '0']);
  });

  it('changes nothing on a host that forwarded already; re-inits keep the first record', async () => {
    const on = await host('1', '1');
    const a = on.forwarding('cpa');
    await a.enable();
    await a.restore();
    expect(await on.values()).toEqual(['1', '1']);
    const off = await host('0', '1');
    const c = off.forwarding('cpc');
    await c.enable();
    await Promise.all([c.enable(), c.enable()]); // concurrent re-inits of the same prefix
    expect(await off.values()).toEqual(['1', '1']);
    await c.restore();
    expect(await off.values()).toEqual(['0', '1']);
  });
  it('a corrupt record is refused naming the file and the field; the record and the switches stay as they are', async () => {
    const h = await host('0', '0');
    const a = h.forwarding('cpa');
    await a.enable();
    const recordFile = a.recordFile;
    for (const [record, field] of [
      [{ before: { ipv4: '0', ipv6: '0' }, users: 'cpa' }, /field users: /],
      [{ before: { ipv4: '0; reboot' }, users: ['cpa'] }, /field before\.ipv4: /],
      [{ before: {}, users: ['../x'] }, /field users\.0: /],
    ] as const) {
      const text = JSON.stringify(record);
      await writeFile(recordFile, text);
      await expect(a.restore()).rejects.toThrow(
        new RegExp(`forwarding\\.json is corrupt: ${field.source}.*left as it is`),
      );
      await expect(h.forwarding('cpb').enable()).rejects.toThrow(field);
      expect(await readFile(recordFile, 'utf8')).toBe(text);
      expect(await h.values()).toEqual(['1', '1']);
    }
  });
});
