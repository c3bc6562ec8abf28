#!/usr/bin/env node
// Plain JS entry so that both `coppice-rigs` and `node packages/rigs/bin/coppice-rigs.js` work: tsx is registered
// here, then the TypeScript CLI is loaded.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const { runRigInProcess } = await import('../src/cli/rig-process.ts');
process.exitCode = await main(process.argv.slice(2), { rigProcess: runRigInProcess });
