#!/usr/bin/env node
// Plain JS entry so that both `coppice` and `node packages/runtime/bin/coppice.js` work: tsx is registered here,
// then the TypeScript CLI is loaded.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
