export * from './agent-client.ts';
export * from './open.ts';
export * from './sandbox-host.ts';
