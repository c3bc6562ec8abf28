export * from './manifests.ts';
export type * from './harness/rig-context.ts';
