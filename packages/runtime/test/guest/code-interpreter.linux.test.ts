import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessRunner, runChecked } from '../../src/host/command-runner.ts';
import { QemuHypervisor } from '../../src/hypervisor/qemu/qemu.ts';
import { locateTemplate, templateImage } from '../../src/hypervisor/qemu/guest-image.ts';
import type { Checkpoint, GuestImage, Vm, VmSpec } from '../../src/hypervisor/hypervisor.ts';

// Boots the code-interpreter-v1 template once under QEMU TCG (slow on 2 shared cores: the Jupyter kernel starts
// before the guest answers its probe) with its own qcow2 layer, and talks to the interpreter over a tap this test
// creates in the root namespace: a /30 holding only the host end and the guest, so no traffic leaves the pair.
const runner = new ProcessRunner();

async function codeInterpreterImage(): Promise<GuestImage | undefined> {
  try {
    await access('/usr/bin/qemu-system-x86_64');
    const dir = process.env.COPPICE_TEMPLATE_DIR ?? (await locateTemplate(runner, 'code-interpreter-v1'));
    return templateImage(dir, 'cpg-code-interpreter-v1', 1024, 2);
  } catch {
    return undefined;
  }
}

const image = await codeInterpreterImage();
const hv = new QemuHypervisor({ runner, tbSizeMiB: 16 });
const tag = randomBytes(3).toString('hex');
const tap = `cpgt${tag}`;
// 10.214.x.y/30: host .1, guest .2 (x, y from the tag so concurrent runs differ).
const net24 = `10.214.${parseInt(tag.slice(0, 2), 16)}`;
const last = (parseInt(tag.slice(2, 4), 16) & 0xfc) + 1;
const hostAddr = `${net24}.${last}`;
const guestAddr = `${net24}.${last + 1}`;
let runRoot: string;
let ckptDir: string;
let vm: Vm | undefined;
let checkpoint: Checkpoint | undefined;

interface Event {
  type: string;
  [key: string]: unknown;
}

async function execute(body: Record<string, unknown>): Promise<Event[]> {
  const res = await fetch(`http://${guestAddr}:49999/execute`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  expect(res.status).toBe(200);
  const text = await res.text();
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Event)
    .filter((e) => e.type !== 'keepalive');
}

const results = (events: Event[]) => events.filter((e) => e.type === 'result');
const stdout = (events: Event[]) =>
  events
    .filter((e) => e.type === 'stdout')
    .map((e) => e.text)
    .join('');

describe.skipIf(!image || process.env.COPPICE_GUEST_TEMPLATES === '0')(
  'code-interpreter-v1 template under QEMU',
  () => {
    const img = image as GuestImage;
    const spec = (name: string): VmSpec => ({
      name: `${name}-${tag}`,
      image: img,
      memory: 'template',
      runDir: join(runRoot, name),
      network: {
        tap,
        mac: `52:54:00:${tag.slice(0, 2)}:${tag.slice(2, 4)}:${tag.slice(4, 6)}`,
        address: `${guestAddr}/30`,
      },
    });

    beforeAll(async () => {
      runRoot = await mkdtemp('/run/cpg-ci-');
      ckptDir = await mkdtemp('/tmp/cpg-ci-');
      await runChecked(runner, ['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
      await runChecked(runner, ['ip', 'addr', 'add', `${hostAddr}/30`, 'dev', tap]);
      await runChecked(runner, ['ip', 'link', 'set', tap, 'up']);
      vm = await hv.boot(spec('cpg-ci'));
      // coppice-init answers the probe only once the interpreter's default kernel is up.
      await vm.probe({ timeoutMs: 1_200_000 });
    }, 1_500_000);

    afterAll(async () => {
      await vm?.destroy();
      if (checkpoint) await hv.checkpoints.removeCheckpoint(checkpoint);
      if (ckptDir) await rm(ckptDir, { recursive: true, force: true });
      await runChecked(runner, ['ip', 'link', 'del', tap]).catch(() => undefined);
      if (runRoot) await rm(runRoot, { recursive: true, force: true });
    });

    it('gives the sandbox at least 1 GiB to write on its root', async () => {
      const events = await execute({ code: "import shutil; print(shutil.disk_usage('/').free)" });
      expect(Number(stdout(events).trim())).toBeGreaterThanOrEqual(1024 ** 3);
      const df = await execute({
        code: "import subprocess; print(subprocess.run(['df', '-B1', '--output=avail', '/'], capture_output=True, text=True).stdout)",
      });
      expect(Number(stdout(df).trim().split('\n').pop())).toBeGreaterThanOrEqual(1024 ** 3);
    }, 120_000);

    it("writes a file into the VM's own layer, never into the shared root image", async () => {
      const marker = `coppice-layer-${randomBytes(8).toString('hex')}`;
      const baseBefore = await stat(img.rootDisk!);
      const events = await execute({
        // Sent reversed: the code itself lands in IPython's history on the same disk, the marker must come from the file.
        code: `import os\nwith open('/home/user/cpg-marker.txt', 'w') as f: f.write(${JSON.stringify([...marker].reverse().join(''))}[::-1])\nos.sync()\nprint(open('/home/user/cpg-marker.txt').read())`,
      });
      expect(stdout(events).trim()).toBe(marker);
      const layer = await readFile(join(runRoot, 'cpg-ci', 'disk.qcow2'));
      expect(layer.includes(Buffer.from(marker))).toBe(true);
      const lookup = await runChecked(runner, ['debugfs', '-R', 'stat /home/user/cpg-marker.txt', img.rootDisk!]).catch(
        (e: Error) => e,
      );
      expect(String(lookup instanceof Error ? lookup.message : `${lookup.stdout}${lookup.stderr}`)).toMatch(
        /File not found/,
      );
      const baseAfter = await stat(img.rootDisk!);
      expect(baseAfter.mtimeMs).toBe(baseBefore.mtimeMs);
    }, 120_000);

    it('keeps state between executions and reports the main result and the execution count', async () => {
      await execute({ code: 'x = 42' });
      const events = await execute({ code: 'x' });
      const main = results(events).find((r) => r.is_main_result);
      expect(main?.text).toBe('42');
      expect(events.some((e) => e.type === 'number_of_executions' && typeof e.execution_count === 'number')).toBe(true);
      expect(events.at(-1)?.type).toBe('end_of_execution');
    }, 120_000);

    it('renders a pandas DataFrame as text/html', async () => {
      const events = await execute({ code: "import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})" });
      const main = results(events).find((r) => r.is_main_result);
      expect(String(main?.html)).toContain('<table');
      expect(String(main?.text)).toContain('a  b');
    }, 120_000);

    it('renders a matplotlib figure as image/png', async () => {
      const events = await execute({
        code: 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.show()',
      });
      const png = results(events).find((r) => typeof r.png === 'string');
      expect(png).toBeDefined();
      expect(Buffer.from(String(png!.png), 'base64').subarray(1, 4).toString('latin1')).toBe('PNG');
    }, 120_000);

    it('reports an exception with its name, value and traceback', async () => {
      const events = await execute({ code: 'def f():\n    return 1 / 0\nf()' });
      const error = events.find((e) => e.type === 'error');
      expect(error?.name).toBe('ZeroDivisionError');
      expect(error?.value).toBe('division by zero');
      expect(String(error?.traceback)).toContain('ZeroDivisionError');
      expect(events.at(-1)?.type).toBe('end_of_execution');
    }, 120_000);

    it('interrupts the kernel on a timeout and keeps the context and its state', async () => {
      const events = await execute({ code: 'import time\ntime.sleep(600)', timeout: 2 });
      expect(events.find((e) => e.type === 'error')?.name).toBe('KeyboardInterrupt');
      const after = await execute({ code: 'x' });
      expect(results(after).find((r) => r.is_main_result)?.text).toBe('42');
    }, 120_000);

    it('restores a clone over a copy of the disk as it was at the checkpoint, writing to a layer of its own', async () => {
      const tpl = vm!;
      checkpoint = await tpl.checkpoint(join(ckptDir, 'tpl.state'));
      expect(checkpoint.disk).toBe(join(ckptDir, 'tpl.state.disk.qcow2'));
      expect(checkpoint.files).toContain(checkpoint.disk);
      await tpl.destroy();
      vm = undefined;
      await expect(stat(join(runRoot, 'cpg-ci'))).rejects.toThrow(); // the VM's layer went with it
      vm = await hv.restore(spec('cpg-clone'), checkpoint);
      await vm.probe({ timeoutMs: 120_000 });
      // Kernel state and disk both as they were at the checkpoint.
      expect(results(await execute({ code: 'x' })).find((r) => r.is_main_result)?.text).toBe('42');
      expect(stdout(await execute({ code: "print(open('/home/user/cpg-marker.txt').read())" })).trim()).toMatch(
        /^coppice-layer-/,
      );
      const marker = `coppice-clone-${randomBytes(8).toString('hex')}`;
      await execute({
        code: `import os\nopen('/home/user/cpg-clone.txt', 'w').write(${JSON.stringify([...marker].reverse().join(''))}[::-1])\nos.sync()`,
      });
      expect((await readFile(join(runRoot, 'cpg-clone', 'disk.qcow2'))).includes(Buffer.from(marker))).toBe(true);
      expect((await readFile(checkpoint.disk!)).includes(Buffer.from(marker))).toBe(false);
    }, 600_000);

    it('runs code in a context of its own, and refuses an unknown one', async () => {
      const base = `http://${guestAddr}:49999`;
      const created = await fetch(`${base}/contexts`, {
        method: 'POST',
        body: JSON.stringify({ language: 'python', cwd: '/tmp' }),
      });
      expect(created.status).toBe(200);
      const ctx = (await created.json()) as { id: string; cwd: string };
      expect(ctx.cwd).toBe('/tmp');
      const events = await execute({
        code: 'import os\nprint(os.getcwd())\nprint("x" in globals())',
        context_id: ctx.id,
      });
      expect(stdout(events)).toBe('/tmp\nFalse\n');
      const list = (await (await fetch(`${base}/contexts`)).json()) as { id: string }[];
      expect(list.map((c) => c.id)).toEqual(expect.arrayContaining(['default', ctx.id]));
      expect((await fetch(`${base}/contexts/${ctx.id}`, { method: 'DELETE' })).status).toBe(204);
      const gone = await fetch(`${base}/execute`, {
        method: 'POST',
        body: JSON.stringify({ code: '1', context_id: ctx.id }),
      });
      expect(gone.status).toBe(404);
      const bad = await fetch(`${base}/execute`, {
        method: 'POST',
        body: JSON.stringify({ code: '1', language: 'cobol' }),
      });
      expect(bad.status).toBe(400);
    }, 300_000);
  },
);
