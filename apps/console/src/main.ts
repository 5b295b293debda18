import 'reflect-metadata';
import { ConfigError, describeConfig } from '@saldo/config';
import { createLogger, PinoNestLogger } from '@saldo/logging';
import { createMetricsRegistry, startObservabilityServer } from '@saldo/observability';
import { initTracing } from '@saldo/tracing';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import cookieParser from 'cookie-parser';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { loadConsoleConfig, parseTenantKeys } from './config';
import { ConsoleModule } from './console.module';
import { createConsoleDataSource } from './database/console-data-source';
import { ConsoleErrorFilter } from './http/console-error';
import { securityHeaders, serveWebApp } from './http/web-app';
import { LedgerGateway } from './ledger/ledger-gateway';

/** Nest's own start-up chatter (every route mapped, every module loaded) stays out of the log. */
class QuietNestLogger extends PinoNestLogger {
  override log(message: unknown, context?: string): void {
    if (context && /^(RouterExplorer|RoutesResolver|InstanceLoader)$/.test(context)) return;
    super.log(message, context);
  }
}

async function main(): Promise<void> {
  const tracing = initTracing('console');
  const config = loadConsoleConfig();
  const logger = createLogger('console', config.LOG_LEVEL);
  logger.info({ config: describeConfig(config) }, 'console: starting');
  const db = await createConsoleDataSource(config.DATABASE_URL, config.CONSOLE_DB_POOL_SIZE).initialize();
  const gateway = new LedgerGateway({
    aggregatorTarget: config.CONSOLE_AGGREGATOR_TARGET,
    tenantKeys: parseTenantKeys(config.CONSOLE_TENANT_API_KEYS),
    ledgerTarget: config.CONSOLE_LEDGER_TARGET,
    ledgerToken: config.LEDGER_SERVICE_TOKEN,
    deadlineMs: config.CONSOLE_GRPC_DEADLINE_MS,
  });

  const server = express();
  server.disable('x-powered-by');
  server.use(securityHeaders);
  server.use(cookieParser());
  server.use('/api', express.json({ limit: '64kb' }));
  // Before Nest's routes: the app's files, and index.html for any GET outside /api.
  const served = serveWebApp(server, config.CONSOLE_WEB_DIR);
  const app = await NestFactory.create<NestExpressApplication>(
    ConsoleModule.register(config, db, gateway),
    new ExpressAdapter(server),
    { logger: new QuietNestLogger(logger), bodyParser: false },
  );
  app.useGlobalFilters(
    new ConsoleErrorFilter((error) => logger.error({ err: error }, 'console: request failed')),
  );
  app.enableShutdownHooks();
  await app.init();
  if (!served)
    logger.warn(
      { dir: config.CONSOLE_WEB_DIR },
      'console: no built web app there (npm run build); serving /api only',
    );
  const httpServer = await app.listen(config.CONSOLE_PORT, config.CONSOLE_HOST);
  const port = (httpServer.address() as AddressInfo).port;

  const registry = createMetricsRegistry('console');
  const observability = await startObservabilityServer({
    host: config.CONSOLE_HTTP_HOST,
    port: config.CONSOLE_HTTP_PORT,
    registry,
    readiness: [
      {
        name: 'database',
        critical: true,
        check: async () => {
          await db.query('SELECT 1');
          return { ok: true, detail: 'up' };
        },
      },
    ],
  });
  const host = config.CONSOLE_HOST === '0.0.0.0' ? '127.0.0.1' : config.CONSOLE_HOST;
  logger.info(
    { url: `http://${host}:${port}/`, metrics: observability.url },
    `console: listening on http://${host}:${port}/`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'console: stopping');
    await app.close().catch(() => undefined);
    await observability.close().catch(() => undefined);
    gateway.close();
    await db.destroy().catch(() => undefined);
    await tracing.shutdown();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`console: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `console: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
