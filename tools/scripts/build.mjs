#!/usr/bin/env node
// Compiles every app and lib with tsc into dist/out-tsc and rewrites the @saldo/* path aliases
// into relative imports (tsc-alias), so `node dist/out-tsc/apps/<app>/src/main.js` runs as is.
// Then the Console's single-page app with Vite into dist/console-web, when its sources changed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = (name) => path.join(root, 'node_modules/.bin', name);
const started = Date.now();
execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
execFileSync(bin('tsc-alias'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });

const web = path.join(root, 'apps/console/web');
const webIndex = path.join(root, 'dist/console-web/index.html');
const newest = (dir) =>
  fs.readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const full = path.join(dir, entry.name);
    return Math.max(latest, entry.isDirectory() ? newest(full) : fs.statSync(full).mtimeMs);
  }, 0);
if (fs.existsSync(web)) {
  const built = fs.existsSync(webIndex) ? fs.statSync(webIndex).mtimeMs : 0;
  if (newest(web) > built || process.env.SALDO_BUILD_WEB === '1') {
    execFileSync(bin('vite'), ['build', '--logLevel', 'warn', web], { cwd: root, stdio: 'inherit' });
  }
}
console.log(
  `build: dist/out-tsc and dist/console-web ready in ${((Date.now() - started) / 1000).toFixed(1)}s`,
);
