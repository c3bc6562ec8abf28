export * from './agent-client.ts';
export * from './sandbox-host.ts';
