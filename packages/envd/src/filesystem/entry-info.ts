import type { Stats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { basename } from 'node:path';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import type { AccountDb } from '../accounts.ts';
import { type EntryInfoSchema, FileType } from '../gen/filesystem/filesystem_pb.ts';

export type EntryInfoInit = MessageInitShape<typeof EntryInfoSchema>;

function typeLetter(st: Stats): string {
  if (st.isDirectory()) return 'd';
  if (st.isSymbolicLink()) return 'l';
  if (st.isCharacterDevice()) return 'c';
  if (st.isBlockDevice()) return 'b';
  if (st.isFIFO()) return 'p';
  if (st.isSocket()) return 's';
  return '-';
}

/** ls -l style permissions, e.g. "drwxr-xr-x" or "-rwsr-xr-t". */
export function permissionString(st: Stats): string {
  const m = st.mode;
  const triplet = (shift: number, special: number, on: string, off: string): string =>
    ((m >> shift) & 4 ? 'r' : '-') +
    ((m >> shift) & 2 ? 'w' : '-') +
    (m & special ? ((m >> shift) & 1 ? on : off) : (m >> shift) & 1 ? 'x' : '-');
  return typeLetter(st) + triplet(6, 0o4000, 's', 'S') + triplet(3, 0o2000, 's', 'S') + triplet(0, 0o1000, 't', 'T');
}

function fileType(st: Stats): FileType {
  if (st.isSymbolicLink()) return FileType.SYMLINK;
  if (st.isDirectory()) return FileType.DIRECTORY;
  if (st.isFile()) return FileType.FILE;
  return FileType.UNSPECIFIED;
}

/** EntryInfo of a path that was already lstat'ed (symlinks are described, not followed). */
export async function entryInfoFromStats(path: string, st: Stats, accounts: AccountDb): Promise<EntryInfoInit> {
  const symlinkTarget = st.isSymbolicLink() ? await readlink(path).catch(() => undefined) : undefined;
  return {
    name: basename(path),
    type: fileType(st),
    path,
    size: BigInt(st.size),
    mode: st.mode & 0o7777,
    permissions: permissionString(st),
    owner: accounts.userName(st.uid),
    group: accounts.groupName(st.gid),
    modifiedTime: timestampFromMs(Math.floor(st.mtimeMs)),
    ...(symlinkTarget !== undefined ? { symlinkTarget } : {}),
  };
}

export async function entryInfo(path: string, accounts: AccountDb): Promise<EntryInfoInit> {
  return entryInfoFromStats(path, await lstat(path), accounts);
}
