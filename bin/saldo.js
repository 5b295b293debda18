#!/usr/bin/env node
// `saldo` / `npx saldo`: runs the operator CLI (apps/saldo-cli) in this process, building the workspace first when
// the compiled code is missing or older than the sources (like tools/scripts/run-app-cli.mjs).
// SALDO_CLI_BUILD=0 skips the check (images, scripts that built already).
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const main = path.join(root, 'dist/out-tsc/apps/saldo-cli/src/cli.js');
const buildInfo = path.join(root, 'dist/out-tsc/.tsbuildinfo');

function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'test-support') walk(full);
      } else if (entry.name.endsWith('.ts') && !/\.(spec|int-spec|e2e-spec)\.ts$/.test(entry.name)) {
        newest = Math.max(newest, statSync(full).mtimeMs);
      }
    }
  };
  for (const top of ['apps', 'libs']) walk(path.join(root, top));
  return newest;
}

function stale() {
  if (!existsSync(main) || !existsSync(buildInfo)) return true;
  return newestSource() > statSync(buildInfo).mtimeMs;
}

if (process.env.SALDO_CLI_BUILD !== '0' && stale()) {
  process.stderr.write('saldo: building the workspace first (sources changed)…\n');
  try {
    execFileSync(process.execPath, [path.join(root, 'tools/scripts/build.mjs')], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } catch {
    process.stderr.write('saldo: the build failed (see above); fix it or run `npm run build`.\n');
    process.exit(1);
  }
}

// One Node process: the CLI runs in this one (it reads process.argv.slice(2), as when spawned).
require(main);
