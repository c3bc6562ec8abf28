/** The host area's public API: the one command runner, durable writes, platform and process facts. */
export * from './command-runner.ts';
export * from './durable-files.ts';
export * from './facts.ts';
export * from './paths.ts';
export * from './platform.ts';
export * from './processes.ts';
