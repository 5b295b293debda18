// Starts what the Console talks to, once for the browser suite: a private database (clone of the
// run's migrated template), the real wallet-ledger and transaction-aggregator, and the Console
// itself; creates the tenant's API key and three operator accounts (admin, operator, viewer).
// The tests find them in CONSOLE_TEST_* variables. Returns the teardown.
import {
  aggregatorEnv,
  createTestDatabase,
  freePort,
  SERVICE_TOKEN,
  startAggregator,
  startLedger,
  tenantId,
  apiKey,
  type ServiceProcess,
} from '@saldo/test-support';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { CHROMIUM, ROOT } from './playwright.config';

const CONSOLE_MAIN = 'dist/out-tsc/apps/console/src/main.js';
const CONSOLE_CLI = 'dist/out-tsc/apps/console/src/cli.js';
export const PASSWORD = 'correct horse battery staple';

async function waitForHttp(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the Console exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the Console did not answer on ${url} within ${timeoutMs} ms`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no chromium at ${CHROMIUM}: apt-get install -y chromium (npm test does this when it can)`,
    );
  for (const file of [CONSOLE_MAIN, CONSOLE_CLI, 'dist/console-web/index.html'])
    if (!existsSync(path.join(ROOT, file))) throw new Error(`${file} is missing: npm run build`);
  mkdirSync(path.join(ROOT, 'tmp/console-screenshots'), { recursive: true });

  const database = await createTestDatabase('console_browser');
  const started: Array<{ stop(): Promise<void> }> = [];
  let consoleProcess: ChildProcess | undefined;
  const teardown = async () => {
    if (consoleProcess && consoleProcess.exitCode === null) {
      const exited = new Promise((resolve) => consoleProcess!.once('exit', resolve));
      consoleProcess.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (consoleProcess.exitCode === null) consoleProcess.kill('SIGKILL');
    }
    await Promise.all(started.map((p) => p.stop()));
    await database.drop();
  };
  try {
    const tenant = tenantId('console');
    const key = apiKey();
    const ledger = await startLedger(database.url);
    started.push(ledger.process as ServiceProcess);
    const aggregator = await startAggregator(
      aggregatorEnv(database.url, ledger.target, { SALDO_API_KEYS: `${tenant}=${key}` }),
    );
    started.push(aggregator.process as ServiceProcess);

    const cliEnv = { ...process.env, DATABASE_URL: database.url, CONSOLE_ADMIN_PASSWORD: PASSWORD };
    const users = [
      ['create-admin', 'admin@example.com'],
      ['create-user', 'operator@example.com', 'operator'],
      ['create-user', 'viewer@example.com', 'viewer'],
    ] as const;
    for (const [command, email, role] of users) {
      const args = [
        CONSOLE_CLI,
        command,
        '--email',
        email,
        '--tenant',
        tenant,
        ...(role ? ['--role', role] : []),
      ];
      const result = spawnSync(process.execPath, args, { cwd: ROOT, env: cliEnv, encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`console ${command} failed: ${result.stderr}`);
    }

    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    consoleProcess = spawn(process.execPath, [CONSOLE_MAIN], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: database.url,
        CONSOLE_HOST: '127.0.0.1',
        CONSOLE_PORT: String(port),
        CONSOLE_HTTP_HOST: '127.0.0.1',
        CONSOLE_HTTP_PORT: '0',
        CONSOLE_AGGREGATOR_TARGET: aggregator.target,
        CONSOLE_TENANT_API_KEYS: `${tenant}=${key}`,
        CONSOLE_LEDGER_TARGET: ledger.target,
        LEDGER_SERVICE_TOKEN: SERVICE_TOKEN,
        CONSOLE_ERP_SYNC_METRICS_URL: `http://127.0.0.1:${await freePort()}/metrics`,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    await waitForHttp(`${baseUrl}/api/session`, 30_000, consoleProcess);

    process.env['CONSOLE_TEST_BASE_URL'] = baseUrl;
    process.env['CONSOLE_TEST_TENANT'] = tenant;
    process.env['CONSOLE_TEST_API_KEY'] = key;
    process.env['CONSOLE_TEST_AGGREGATOR'] = aggregator.target;
    process.env['CONSOLE_TEST_DATABASE_URL'] = database.url;
    return teardown;
  } catch (error) {
    await teardown();
    throw error;
  }
}
