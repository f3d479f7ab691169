#!/usr/bin/env node
// Installed entry point: load tsx's ESM loader, then the TypeScript CLI.
import { register } from 'tsx/esm/api';
register();
await import('./main.ts');
