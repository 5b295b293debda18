// `saldo migrate <step> …`: the migrator's own CLI (apps/migrator) behind the front door. Every
// argument passes through unchanged — the steps and their options are the migrator's
// (plan|import|catch-up|verify|cutover|rollback|status, docs/migration.md) — with the local stack's
// secrets (.saldo/local.env) under the caller's environment, like the other delegated commands.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readEnvFile, workspaceRoot } from '../context';

export const MIGRATE_SUMMARY =
  'legacy wallet migration: plan | import | catch-up | verify | cutover | rollback | status (saldo migrate --help)';

export function runMigrate(
  argv: readonly string[],
  processEnv: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const root = workspaceRoot();
  const script = path.join(root, 'dist/out-tsc/apps/migrator/src/cli.js');
  if (!existsSync(script)) {
    process.stderr.write(
      'saldo: the migrator CLI is not built (dist/out-tsc/apps/migrator); run `npm run build`.\n',
    );
    return Promise.resolve(1);
  }
  const localEnv = path.join(path.resolve(root, processEnv['SALDO_STATE_DIR'] || '.saldo'), 'local.env');
  const env = { ...(existsSync(localEnv) ? readEnvFile(localEnv) : {}), ...processEnv };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...argv], { cwd: root, env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      resolve(code ?? (signal ? 130 : 1));
    });
  });
}
