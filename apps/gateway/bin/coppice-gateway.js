#!/usr/bin/env node
// Plain JS entry so that both `coppice-gateway` and `node apps/gateway/bin/coppice-gateway.js` work.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
