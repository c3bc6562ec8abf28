import { createReadStream, createWriteStream } from 'node:fs';
import { chown, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import busboy from 'busboy';
import { syncDir, syncFile } from '@coppice/runtime/host';
import type { Account, AccountDb } from './accounts.ts';
import type { AgentState } from './agent-state.ts';
import { makeDirsOwnedBy } from './filesystem/make-dirs.ts';
import { sendError, sendJson } from './http-util.ts';
import { InvalidPathError, parseQuery, resolveUserPath } from './paths.ts';
import { httpStatusFor } from './rpc-errors.ts';

export interface FilesRouteDeps {
  state: AgentState;
  accounts: () => Promise<AccountDb>;
  /** Largest upload accepted, summed over the files of one request. */
  maxUploadBytes: number;
}

/** A request the route refuses, with the HTTP status the SDK maps to its exception. */
class FilesRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface UploadedEntry {
  name: string;
  type: 'file';
  path: string;
}

function resolveRequest(query: Map<string, string>, accounts: AccountDb, defaultUser: string): Account {
  const name = query.get('username') || defaultUser;
  const account = accounts.user(name);
  if (!account) throw new FilesRequestError(401, `user ${JSON.stringify(name)} does not exist in the sandbox`);
  return account;
}

function failureStatus(error: unknown): { status: number; message: string } {
  if (error instanceof FilesRequestError) return { status: error.status, message: error.message };
  const status = httpStatusFor(error);
  return { status, message: error instanceof Error ? error.message : String(error) };
}

/** Counts bytes through a stream and fails it once the request's upload budget is spent. */
function sizeGuard(budget: { left: number; limit: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      budget.left -= chunk.length;
      if (budget.left < 0)
        callback(new FilesRequestError(413, `upload is larger than the limit of ${budget.limit} bytes`));
      else callback(null, chunk);
    },
  });
}

let uploadSequence = 0;

/**
 * Writes one uploaded stream to `path`: into a temporary file beside it, fsync'd, then renamed over the target,
 * so a failed or oversized upload leaves the old file (or no file) and never a truncated one.
 */
async function writeUpload(source: Readable, path: string, account: Account, guard: Transform): Promise<UploadedEntry> {
  await makeDirsOwnedBy(dirname(path), account);
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new FilesRequestError(400, `${path} is a directory`);
  const tmp = join(dirname(path), `.${basename(path)}.upload.${process.pid}.${++uploadSequence}`);
  try {
    await pipeline(source, guard, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
    await chown(tmp, account.uid, account.gid);
    await syncFile(tmp);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dirname(path));
  return { name: basename(path), type: 'file', path };
}

async function download(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const st = await stat(path);
  if (st.isDirectory()) throw new FilesRequestError(400, `${path} is a directory`);
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const headers: Record<string, string | number> = {
    'content-type': 'application/octet-stream',
    'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(basename(path))}`,
  };
  if (gzip) headers['content-encoding'] = 'gzip';
  else headers['content-length'] = st.size;
  const file = createReadStream(path);
  await new Promise<void>((resolve, reject) => {
    file.once('open', () => resolve());
    file.once('error', reject);
  });
  res.writeHead(200, headers);
  await pipeline(gzip ? ([file, createGzip(), res] as const) : ([file, res] as const)).catch(() => res.destroy());
}

function uploadMultipart(
  req: IncomingMessage,
  queryPath: string | undefined,
  account: Account,
  maxBytes: number,
): Promise<UploadedEntry[]> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, preservePath: true, limits: { fields: 100, parts: 1000 } });
    } catch (e) {
      reject(new FilesRequestError(400, `not a multipart upload: ${(e as Error).message}`));
      return;
    }
    const budget = { left: maxBytes, limit: maxBytes };
    const writes: Promise<UploadedEntry>[] = [];
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      req.resume();
      reject(error);
    };
    // busboy does not end a part's stream when the client goes away mid-part; without this the write would wait
    // for ever with its temporary file open.
    const open = new Set<Readable>();
    req.once('close', () => {
      if (req.complete) return;
      const error = new FilesRequestError(400, 'the client closed the connection before the upload was complete');
      for (const stream of open) stream.destroy(error);
      fail(error);
    });
    parser.on('file', (field, stream, info) => {
      open.add(stream);
      stream.once('close', () => open.delete(stream));
      if (failed || field !== 'file') {
        stream.resume();
        return;
      }
      const target = writes.length === 0 && queryPath !== undefined ? queryPath : info.filename;
      let path: string;
      try {
        if (writes.length > 0 && queryPath !== undefined)
          throw new FilesRequestError(400, 'the path query parameter allows one file per request');
        if (!target) throw new FilesRequestError(400, 'a file part has no filename and the request no path parameter');
        path = resolveUserPath(target, account.home, 'file path');
      } catch (e) {
        stream.resume();
        fail(e);
        return;
      }
      const write = writeUpload(stream, path, account, sizeGuard(budget));
      write.catch(fail);
      writes.push(write);
    });
    parser.on('error', (e: Error) => fail(new FilesRequestError(400, `malformed multipart body: ${e.message}`)));
    parser.on('close', () => {
      if (failed) return;
      if (writes.length === 0) {
        fail(new FilesRequestError(400, 'multipart body has no "file" part'));
        return;
      }
      Promise.all(writes).then(resolve, fail);
    });
    req.pipe(parser);
  });
}

async function uploadOctetStream(
  req: IncomingMessage,
  queryPath: string | undefined,
  account: Account,
  maxBytes: number,
): Promise<UploadedEntry[]> {
  if (queryPath === undefined)
    throw new FilesRequestError(400, 'an application/octet-stream upload needs the path query parameter');
  const path = resolveUserPath(queryPath, account.home);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) throw new FilesRequestError(413, `upload is larger than the limit of ${maxBytes} bytes`);
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip')
    throw new FilesRequestError(415, `content-encoding ${JSON.stringify(encoding)} is not supported`);
  const source: Readable = encoding === 'gzip' ? req.pipe(createGunzip()) : req;
  return [await writeUpload(source, path, account, sizeGuard({ left: maxBytes, limit: maxBytes }))];
}

/** GET /files (download raw bytes) and POST /files (multipart or octet-stream upload). */
export async function handleFiles(
  req: IncomingMessage,
  res: ServerResponse,
  search: string,
  deps: FilesRouteDeps,
): Promise<void> {
  try {
    const query = parseQuery(search);
    const account = resolveRequest(query, await deps.accounts(), deps.state.defaultUser);
    const queryPath = query.get('path') || undefined;
    if (Object.keys(req.headers).some((h) => h.startsWith('x-metadata-'))) {
      throw new FilesRequestError(400, 'file metadata (X-Metadata-* headers) is not supported by this agent');
    }
    if (req.method === 'GET') {
      if (queryPath === undefined) throw new FilesRequestError(400, 'the path query parameter is required');
      await download(req, res, resolveUserPath(queryPath, account.home));
      return;
    }
    if (req.method !== 'POST') throw new FilesRequestError(405, `method ${req.method} is not allowed on /files`);
    const type = String(req.headers['content-type'] ?? '').toLowerCase();
    let entries: UploadedEntry[];
    if (type.startsWith('multipart/form-data'))
      entries = await uploadMultipart(req, queryPath, account, deps.maxUploadBytes);
    else if (type.startsWith('application/octet-stream'))
      entries = await uploadOctetStream(req, queryPath, account, deps.maxUploadBytes);
    else
      throw new FilesRequestError(
        415,
        `content-type ${JSON.stringify(type)} is not multipart/form-data or application/octet-stream`,
      );
    sendJson(res, 200, entries);
  } catch (e) {
    const { status, message } = e instanceof InvalidPathError ? { status: 400, message: e.message } : failureStatus(e);
    // After a refused upload the rest of the body is not read; closing the connection spares reading it.
    sendError(
      res,
      status,
      status === 404 ? `file not found: ${message}` : message,
      req.method === 'POST' && !req.complete ? { connection: 'close' } : {},
    );
  }
}
