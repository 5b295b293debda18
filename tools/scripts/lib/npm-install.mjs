// When `npm start` and `npm test` must install first, and how: one answer for both scripts.
import fs from 'node:fs';
import path from 'node:path';

/** node_modules is missing, or older than package-lock.json (a pull changed the dependencies). */
export function installNeeded(root) {
  const marker = path.join(root, 'node_modules/.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  return (
    !fs.existsSync(marker) || (fs.existsSync(lock) && fs.statSync(lock).mtimeMs > fs.statSync(marker).mtimeMs)
  );
}

/** `npm install` with the lockfile (never `npm ci`: the lockfile lacks other platforms' builds). */
export function npmInstallCommand() {
  const npmCli = process.env.npm_execpath;
  const [command, prefix] = npmCli && /\.c?js$/.test(npmCli) ? [process.execPath, [npmCli]] : ['npm', []];
  return { command, args: [...prefix, 'install', '--no-audit', '--no-fund'] };
}
