export * from './problem.ts';
export * from './field-path.ts';
export * from './result-path.ts';
export * from './load-tree.ts';
export * from './newest.ts';
