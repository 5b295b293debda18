import 'reflect-metadata';
import { status } from '@grpc/grpc-js';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { ConfigError, describeConfig } from '@saldo/config';
import { GrpcErrorFilter, grpcServerOptions, grpcStatusOf } from '@saldo/grpc-kit';
import { isLedgerError } from '@saldo/ledger-domain';
import { createLogger, PinoNestLogger } from '@saldo/logging';
import { GrpcMetricsInterceptor } from '@saldo/observability';
import { protoFile, protoRoot } from '@saldo/proto';
import { GrpcTracingInterceptor, initTracing } from '@saldo/tracing';
import { AggregatorModule } from './aggregator.module';
import { loadAggregatorConfig } from './config';
import { createAggregatorObservability } from './observability';
import { AggregatorCaches } from './cache/aggregator-caches';
import { BalanceActionsConsumer } from './pubsub/balance-actions.consumer';
import { AggregatorService } from './wallets/aggregator.service';

const SERVICE = 'saldo.transaction.v1.TransactionService';

async function main(): Promise<void> {
  const tracing = initTracing('transaction-aggregator'); // first: spans from here on are exported
  const config = loadAggregatorConfig();
  const logger = createLogger('transaction-aggregator', config.LOG_LEVEL);
  const grpc = grpcServerOptions({
    url: config.AGGREGATOR_GRPC_URL,
    packageName: 'saldo.transaction.v1',
    serviceNames: [SERVICE],
    protoPath: protoFile('saldo/transaction/v1/transaction.proto'),
    includeDirs: [protoRoot()],
  });
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(
    AggregatorModule.forConfig(config, logger),
    {
      ...grpc.options,
      logger: new PinoNestLogger(logger),
    },
  );
  app.useGlobalFilters(new GrpcErrorFilter(logger));
  const observability = createAggregatorObservability(config, logger);
  // The status each error leaves with is GrpcErrorFilter's: coded errors by grpcStatusOf, else INTERNAL.
  const statusOf = (error: unknown) =>
    status[isLedgerError(error) ? grpcStatusOf(error.code) : status.INTERNAL] as string;
  // Tracing first: the caller's traceparent (metadata) is the parent of everything the call does.
  app.useGlobalInterceptors(
    new GrpcTracingInterceptor(statusOf),
    new GrpcMetricsInterceptor(observability.grpc, statusOf),
  );
  await app.listen();
  await observability.listen(
    config.AGGREGATOR_PUBSUB_ENABLED ? app.get(BalanceActionsConsumer).stats : undefined,
    { batcher: app.get(AggregatorService).context.batcher.stats, caches: app.get(AggregatorCaches) },
  );
  grpc.health.setStatus('', 'SERVING');
  grpc.health.setStatus(SERVICE, 'SERVING');
  logger.info(
    { url: config.AGGREGATOR_GRPC_URL, config: describeConfig(config) },
    'transaction-aggregator is serving',
  );

  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down: draining in-flight calls and messages');
    grpc.health.setStatus('', 'NOT_SERVING');
    grpc.health.setStatus(SERVICE, 'NOT_SERVING');
    observability.markDraining();
    await app.close();
    await observability.stop();
    await tracing.shutdown();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`transaction-aggregator cannot start.\n${error.message}\n`);
  } else {
    process.stderr.write(
      `transaction-aggregator failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
  }
  process.exit(1);
});
