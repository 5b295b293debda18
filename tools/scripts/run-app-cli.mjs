#!/usr/bin/env node
// Runs an app's operator CLI (apps/<app>/src/cli.ts), building first when the compiled code is
// missing or older than the sources:  node tools/scripts/run-app-cli.mjs wallet-ledger verify
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [app, ...args] = process.argv.slice(2);
if (!app || !existsSync(path.join(root, 'apps', app, 'src/cli.ts'))) {
  const apps = readdirSync(path.join(root, 'apps')).filter((name) =>
    existsSync(path.join(root, 'apps', name, 'src/cli.ts')),
  );
  console.error(`usage: run-app-cli.mjs <app> [command…]  (apps with a CLI: ${apps.join(', ')})`);
  process.exit(2);
}

const cli = path.join(root, 'dist/out-tsc/apps', app, 'src/cli.js');
if (!existsSync(cli) || newestSource() > statSync(cli).mtimeMs) {
  execFileSync(process.execPath, [path.join(root, 'tools/scripts/build.mjs')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
const result = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);

function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  for (const top of ['apps', 'libs']) walk(path.join(root, top));
  return newest;
}
