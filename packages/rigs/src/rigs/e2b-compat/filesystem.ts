/** filesystem-api checks: Sandbox.files calls and the signed upload/download URLs. */
import type { FilesystemEvent, Sandbox } from 'e2b';
import { type CheckRecorder, eventually, expectThat } from './checks.ts';
import { requestByHost } from './sandbox-http.ts';

const DIR = '/home/user/cpx-files';
/** The port of the guest agent (envd), whose host name the SDK's file URLs use when no sandbox URL is set. */
const ENVD_PORT = 49983;

export async function filesystemChecks(checks: CheckRecorder, s: Sandbox, gatewayUrl: string): Promise<void> {
  await checks.run('filesystem-api', 'files.write', async () => {
    const info = await s.files.write(`${DIR}/a.txt`, 'alpha\n');
    const many = await s.files.write([
      { path: `${DIR}/many/1.txt`, data: 'one' },
      { path: `${DIR}/many/2.bin`, data: new Uint8Array([0, 1, 2, 255]).buffer },
    ]);
    expectThat(info.path === `${DIR}/a.txt` && many.length === 2, 'the written paths back', { info, many });
    return `write(path, text) -> ${info.path} (parent folder created); write([two files, one binary]) -> ${many.length} entries`;
  });
  await checks.run('filesystem-api', 'files.read', async () => {
    const text = await s.files.read(`${DIR}/a.txt`);
    const bytes = await s.files.read(`${DIR}/many/2.bin`, { format: 'bytes' });
    expectThat(
      text === 'alpha\n' && Buffer.from(bytes).equals(Buffer.from([0, 1, 2, 255])),
      'the text and the four bytes written',
      { text, bytes: [...bytes] },
    );
    return 'read as text and as bytes: what was written';
  });
  await checks.run('filesystem-api', 'files.list', async () => {
    const entries = await s.files.list(DIR);
    const names = entries.map((e) => `${e.name}:${e.type}`).sort();
    expectThat(names.join(',') === 'a.txt:file,many:dir', 'a.txt (file) and many (dir)', names);
    const deep = await s.files.list(DIR, { depth: 2 });
    expectThat(
      deep.length === 4,
      'four entries at depth 2',
      deep.map((e) => e.path),
    );
    return `list -> ${names.join(', ')}; depth 2 -> ${deep.length} entries`;
  });
  await checks.run('filesystem-api', 'files.makeDir', async () => {
    const made = await s.files.makeDir(`${DIR}/sub/deeper`);
    const again = await s.files.makeDir(`${DIR}/sub/deeper`);
    const info = await s.files.getInfo(`${DIR}/sub/deeper`);
    expectThat(
      made === true && again === false && info.type === 'dir',
      'true, then false for an existing folder, a dir',
      { made, again, type: info.type },
    );
    return 'makeDir -> true (with parents), again -> false; getInfo says dir';
  });
  await checks.run('filesystem-api', 'files.rename', async () => {
    const moved = await s.files.rename(`${DIR}/a.txt`, `${DIR}/sub/b.txt`);
    const text = await s.files.read(`${DIR}/sub/b.txt`);
    const oldThere = await s.files.exists(`${DIR}/a.txt`);
    expectThat(
      moved.path === `${DIR}/sub/b.txt` && text === 'alpha\n' && !oldThere,
      'the content at the new path only',
      { moved, text, oldThere },
    );
    return `rename -> ${moved.path}; content moved, old path gone`;
  });
  await checks.run('filesystem-api', 'files.remove', async () => {
    await s.files.remove(`${DIR}/sub/b.txt`);
    await s.files.remove(`${DIR}/many`);
    const left = (await s.files.list(DIR)).map((e) => e.name);
    expectThat(left.join(',') === 'sub', 'only sub left', left);
    return 'remove of a file and of a non-empty folder: both gone';
  });
  await checks.run('filesystem-api', 'files.exists', async () => {
    const [folder, missing] = await Promise.all([s.files.exists(`${DIR}/sub`), s.files.exists(`${DIR}/missing.txt`)]);
    expectThat(folder && !missing, 'true for the folder, false for a missing file', { folder, missing });
    return 'exists -> true for a folder, false for a missing path';
  });
  await checks.run('filesystem-api', 'files.watchDir', async () => {
    const events: FilesystemEvent[] = [];
    const handle = await s.files.watchDir(`${DIR}/sub`, (e) => void events.push(e));
    try {
      await s.files.write(`${DIR}/sub/watched.txt`, 'seen\n');
      await s.commands.run(`rm ${DIR}/sub/watched.txt`);
      const kinds = await eventually(
        async () => {
          const forFile = events.filter((e) => e.name === 'watched.txt').map((e) => e.type);
          return forFile.includes('create' as never) && forFile.includes('remove' as never) ? forFile : undefined;
        },
        10_000,
        `no create and remove events for watched.txt (got ${JSON.stringify(events)})`,
      );
      return `watchDir saw ${kinds.join(', ')} for a file written by files.write and removed by a command`;
    } finally {
      await handle.stop();
    }
  });
  await checks.run('filesystem-api', 'uploadUrl / downloadUrl', async () => {
    const path = `${DIR}/uploaded.bin`;
    const payload = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    const host = s.getHost(ENVD_PORT);
    const upload = new URL(await s.uploadUrl(path));
    const form = new FormData();
    form.append('file', new Blob([payload]), 'uploaded.bin');
    // Serialise the multipart body once (boundary included), to send it with the sandbox's host name.
    const encoded = new Request('http://multipart.invalid/', { method: 'POST', body: form });
    const up = await requestByHost(gatewayUrl, host, `${upload.pathname}${upload.search}`, {
      method: 'POST',
      headers: { 'content-type': encoded.headers.get('content-type')! },
      body: Buffer.from(await encoded.arrayBuffer()),
    });
    expectThat(up.status === 200, 'upload status 200', { status: up.status, body: up.body.toString().slice(0, 200) });
    const download = new URL(await s.downloadUrl(path));
    const down = await requestByHost(gatewayUrl, host, `${download.pathname}${download.search}`);
    expectThat(down.status === 200 && down.body.equals(payload), 'the 70000 uploaded bytes back', {
      status: down.status,
      length: down.body.length,
    });
    const unsigned = await requestByHost(gatewayUrl, host, `/files?path=${encodeURIComponent(path)}`);
    expectThat(unsigned.status === 401, 'an unsigned download refused (401)', unsigned.status);
    return `signed uploadUrl took ${payload.length} bytes (multipart), signed downloadUrl gave them back; unsigned -> 401 (URLs sent with Host ${host})`;
  });
}
