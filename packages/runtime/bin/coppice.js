#!/usr/bin/env -S node --import tsx
import '../src/cli/main.ts';
