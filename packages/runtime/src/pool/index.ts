export * from './config.ts';
export * from './errors.ts';
export * from './network.ts';
export * from './pool.ts';
export * from './state.ts';
export * from './templates.ts';
export * from './template-cache.ts';
