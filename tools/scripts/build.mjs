#!/usr/bin/env node
// Compiles every app and lib with tsc into dist/out-tsc and rewrites the @saldo/* path aliases
// into relative imports (tsc-alias), so `node dist/out-tsc/apps/<app>/src/main.js` runs as is.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = (name) => path.join(root, 'node_modules/.bin', name);
const started = Date.now();
execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
execFileSync(bin('tsc-alias'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
console.log(`build: dist/out-tsc ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
