export * from './host/command-runner.ts';
