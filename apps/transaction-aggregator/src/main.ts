import 'reflect-metadata';
import { status } from '@grpc/grpc-js';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { ConfigError, describeConfig } from '@saldo/config';
import { GrpcErrorFilter, grpcServerOptions, grpcStatusOf, startConnectDoor } from '@saldo/grpc-kit';
import { isLedgerError } from '@saldo/ledger-domain';
import { createLogger, PinoNestLogger } from '@saldo/logging';
import { GrpcMetricsInterceptor } from '@saldo/observability';
import { protoFile, protoRoot, TRANSACTION_PROTO_FILE, transactionEs } from '@saldo/proto';
import { GrpcTracingInterceptor, initTracing } from '@saldo/tracing';
import { AggregatorModule } from './aggregator.module';
import { loadAggregatorConfig } from './config';
import { TransactionGrpcController } from './grpc/transaction.grpc-controller';
import { createAggregatorObservability } from './observability';
import { AggregatorCaches } from './cache/aggregator-caches';
import { BalanceActionsConsumer } from './pubsub/balance-actions.consumer';
import { AggregatorService } from './wallets/aggregator.service';
import { Admission } from './admission/admission';
import { AdmissionInterceptor } from './admission/admission.interceptor';

const SERVICE = 'saldo.transaction.v1.TransactionService';

async function main(): Promise<void> {
  const tracing = initTracing('transaction-aggregator'); // first: spans from here on are exported
  const config = loadAggregatorConfig();
  const logger = createLogger('transaction-aggregator', config.LOG_LEVEL);
  const protoPath = protoFile('saldo/transaction/v1/transaction.proto');
  const grpc = grpcServerOptions({
    url: config.AGGREGATOR_GRPC_URL,
    packageName: 'saldo.transaction.v1',
    serviceNames: [SERVICE],
    protoPath,
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
    // Admission last: its refusals are traced and counted like any answer.
    new AdmissionInterceptor(app.get(Admission)),
  );
  await app.listen();
  await observability.listen(
    config.AGGREGATOR_PUBSUB_ENABLED ? app.get(BalanceActionsConsumer).stats : undefined,
    { batcher: app.get(AggregatorService).context.batcher.stats, caches: app.get(AggregatorCaches) },
  );
  // The HTTP door: the same controller (auth, validation, errors) behind the Connect protocol.
  let serving = true;
  const door = await startConnectDoor({
    host: config.AGGREGATOR_CONNECT_HOST,
    port: config.AGGREGATOR_CONNECT_PORT,
    service: transactionEs.TransactionService,
    handlers: app.get(TransactionGrpcController),
    protoPath,
    includeDirs: [protoRoot()],
    describe: [TRANSACTION_PROTO_FILE],
    healthStatusOf: (name) =>
      name === '' || name === SERVICE ? (serving ? 'SERVING' : 'NOT_SERVING') : 'SERVICE_UNKNOWN',
    metrics: observability.grpc,
    corsOrigins: config.AGGREGATOR_CONNECT_CORS_ORIGINS,
    logger,
  });
  grpc.health.setStatus('', 'SERVING');
  grpc.health.setStatus(SERVICE, 'SERVING');
  logger.info(
    {
      url: config.AGGREGATOR_GRPC_URL,
      connect: `${config.AGGREGATOR_CONNECT_HOST}:${door.port}`,
      config: describeConfig(config),
    },
    'transaction-aggregator is serving',
  );

  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down: draining in-flight calls and messages');
    grpc.health.setStatus('', 'NOT_SERVING');
    grpc.health.setStatus(SERVICE, 'NOT_SERVING');
    serving = false;
    observability.markDraining();
    await door.close();
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
