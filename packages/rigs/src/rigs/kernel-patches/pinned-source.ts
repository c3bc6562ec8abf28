/**
 * The FreeBSD source files patches/ were written against, by git blob id: the pin (patches/README.md explains why
 * it is per file rather than one commit). `before` is upstream's file, `after` the file with the patch applied;
 * new files have no `before`. The `index` lines of the diffs carry the same ids, abbreviated (a test keeps them equal).
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
        before: '5d2b2f87f1058455faf4b85a7706b9a540ca4514',
        after: '074cdca37c6b83edfc668b45a502c4e867fe90f7',
      },
      { path: 'lib/libvmmapi/vmmapi_vnode.c', after: '49c35e3ee2958d69aa361809870161dde3d9587f' },
      { path: 'lib/libvmmapi/vmmapi_vnode.h', after: '237eabd4cd189389e12d7093e72fa802ca785132' },
      {
        path: 'sys/dev/vmm/vmm_dev.c',
        before: '09fd3a9048bd5e3c853c0c917231e88046130480',
        after: '089b99538849592bfaebbe0540296afaf379993b',
      },
      {
        path: 'sys/dev/vmm/vmm_dev.h',
        before: '89fe7ec4704d422c3c9f23b6fe5f170586f129ec',
        after: '6e51838c2032ba8cace80afdb53e99f779e65ed7',
      },
      {
        path: 'sys/dev/vmm/vmm_mem.c',
        before: '9df31c9ba133f2f21cd82519a6a241422917f7c0',
        after: 'df924bb5d7f27ac5372fbba30acd98eeaf57eb43',
      },
      {
        path: 'sys/dev/vmm/vmm_mem.h',
        before: 'f3d22058c7b8e78b3c694beb3f13de1735d59165',
        after: 'd472288649299e9459222cffce3329451cdd9a7e',
      },
    ],
  },
  {
    patch: 'bhyve-vnode-restore.diff',
    files: [
      {
        path: 'usr.sbin/bhyve/bhyverun.c',
        before: '8163ab0d810a8e8e2994147b328cf874332846b4',
        after: 'e87be39595e63c31ea3f15fb5d4486b3e232ff3d',
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
