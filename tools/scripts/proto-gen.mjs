#!/usr/bin/env node
// Regenerates libs/proto/src/generated from proto/ (buf + ts-proto as a local plugin).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
rmSync(path.join(root, 'libs/proto/src/generated'), { recursive: true, force: true });
execFileSync(path.join(root, 'node_modules/.bin/buf'), ['lint'], { cwd: root, stdio: 'inherit' });
execFileSync(path.join(root, 'node_modules/.bin/buf'), ['generate'], { cwd: root, stdio: 'inherit' });
console.log('proto: generated libs/proto/src/generated');
