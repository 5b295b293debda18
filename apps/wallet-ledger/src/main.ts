import 'reflect-metadata';
import { ConfigError, describeConfig } from '@saldo/config';
import { createLogger } from '@saldo/logging';
import { createMetricsRegistry, GrpcServerMetrics } from '@saldo/observability';
import { initTracing } from '@saldo/tracing';
import { registerRedisMetrics, type WalletLocks } from '@saldo/locks';
import { startLedgerServer } from './bootstrap';
import { REDIS, WALLET_LOCKS } from './ledger.module';
import { loadLedgerConfig } from './config';
import { startLedgerEventsRuntime } from './outbox/ledger-events-runtime';

async function main(): Promise<void> {
  const tracing = initTracing('wallet-ledger'); // first: spans from here on are exported
  const config = loadLedgerConfig();
  const logger = createLogger('wallet-ledger', config.LOG_LEVEL);
  const registry = createMetricsRegistry('wallet-ledger');
  const ledger = await startLedgerServer(config, logger, new GrpcServerMetrics(registry));
  registerRedisMetrics(registry, ledger.app.get(REDIS), ledger.app.get<WalletLocks>(WALLET_LOCKS).stats);
  // The outbox relay to Pub/Sub, the Firestore mirror and /metrics, /healthz, /readyz.
  const events = await startLedgerEventsRuntime(config, logger, { registry });
  logger.info({ url: config.LEDGER_GRPC_URL, config: describeConfig(config) }, 'wallet-ledger is serving');

  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down: draining in-flight calls');
    await ledger.stop();
    await events.stop();
    await tracing.shutdown();
    logger.info('wallet-ledger stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`wallet-ledger cannot start.\n${error.message}\n`);
  } else {
    process.stderr.write(
      `wallet-ledger failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
  }
  process.exit(1);
});
