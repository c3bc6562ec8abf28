export * from './schema/common.ts';
export * from './schema/result-file.ts';
export * from './schema/rig-manifest.ts';
export * from './schema/published-reference.ts';
export * from './schema/stat.ts';
export * from './schema/claims-registry.ts';
export * from './stats/index.ts';
export * from './loader/index.ts';
