/** The hypervisor area's public API: the seam, the QEMU backend (Linux) and the bhyve backend (FreeBSD). */
export * from './hypervisor.ts';
export * from './qemu/qemu.ts';
export * from './qemu/guest-image.ts';
export * from './qemu/tuning.ts';
export * from './bhyve/bhyve.ts';
export * from './bhyve/system.ts';
export * from './bhyve/vnode-restore.ts';
export { qemuArgv } from './qemu/argv.ts';
