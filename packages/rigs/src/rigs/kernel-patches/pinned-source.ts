/**
 * The FreeBSD source files patches/ were written against, by git blob id: the pin. It is per file, not one commit:
 * no single upstream revision could be established for all of them from the stored copies they were read from
 * (patches/README.md, "Upstream files and pinning", says which commit each was read at and what was checked).
 * `before` is upstream's file, `after` the file with the patch applied; new files have no `before`. The `index`
 * lines of the diffs carry the same ids, abbreviated, and the README's pin table the full `before` ids (tests keep
 * all three equal).
 */
import { createHash } from 'node:crypto';

export interface PinnedFile {
  path: string;
  before?: string;
  after: string;
}

export interface PatchPin {
  /** File name under patches/. */
  patch: 'vmm-memseg-vnode.diff' | 'bhyve-vnode-restore.diff';
  files: PinnedFile[];
}

export const PATCH_PINS: readonly PatchPin[] = [
  {
    patch: 'vmm-memseg-vnode.diff',
    files: [
      {
        path: 'lib/libvmmapi/Makefile',
        before: '1866c8fa5e7cba6f389a77841ee1a21b9255b384',
        after: 'bd2004e7d1d06ead7c56b237a5a00763c0014693',
      },
      { path: 'lib/libvmmapi/vmmapi_vnode.c', after: '49c35e3ee2958d69aa361809870161dde3d9587f' },
      { path: 'lib/libvmmapi/vmmapi_vnode.h', after: 'dbcac558b6a4c7b7a6b05c344648db1f6afb234c' },
      {
        path: 'sys/dev/vmm/vmm_dev.c',
        before: '9f2b009d02ece5481a10a36fe66042ec7331cb62',
        after: '36e9d6af24f47971b6e5d6efb878ba0e2fbf2a59',
      },
      {
        path: 'sys/dev/vmm/vmm_dev.h',
        before: '410066c49cf2d70e33ee550bd4a98d8fa3761147',
        after: '92d6113803289c4afd615d0676d8c95fa27c3f3f',
      },
      {
        path: 'sys/dev/vmm/vmm_mem.c',
        before: 'be59e37de33d1fd53d895940927e3472c47eb20b',
        after: '53c9a0fc2b3ed9faadc9c064683c3587566c617b',
      },
      {
        path: 'sys/dev/vmm/vmm_mem.h',
        before: '856470cf25902b08583db3bec3e3d4dd9ffbbaff',
        after: 'e8423275dab791f3bde7f841ff66967b0cb8745a',
      },
    ],
  },
  {
    patch: 'bhyve-vnode-restore.diff',
    files: [
      {
        path: 'usr.sbin/bhyve/bhyverun.c',
        before: 'bfc0b949a75def6610e4f2fa199103798eaf8fb4',
        after: '333c6ee9d07618cd716c919054914a84ee28a2d6',
      },
    ],
  },
];

/** git's blob id of a file's bytes (`git hash-object`): SHA-1 of "blob <size>\0" followed by the content. */
export function gitBlobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

export type FileState = 'upstream' | 'patched' | 'missing' | 'other';

/** Where one file of a source tree stands against the pin, from its bytes (undefined: the file does not exist). */
export function fileState(pin: PinnedFile, content: Buffer | undefined): FileState {
  if (content === undefined) return pin.before === undefined ? 'upstream' : 'missing';
  const id = gitBlobId(content);
  if (id === pin.after) return 'patched';
  return id === pin.before ? 'upstream' : 'other';
}
