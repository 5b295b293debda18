import 'reflect-metadata';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import { GrpcErrorFilter, grpcServerOptions, grpcStatusOf } from '@saldo/grpc-kit';
import { isLedgerError } from '@saldo/ledger-domain';
import { PinoNestLogger, type Logger } from '@saldo/logging';
import { GrpcMetricsInterceptor, type GrpcServerMetrics } from '@saldo/observability';
import { GrpcTracingInterceptor } from '@saldo/tracing';
import { protoFile, protoRoot } from '@saldo/proto';
import type { LedgerConfig } from './config';
import { LedgerModule } from './ledger.module';

export const LEDGER_SERVICE_NAME = 'saldo.ledger.v1.LedgerService';

export interface RunningLedger {
  app: INestMicroservice;
  /** Marks the service NOT_SERVING (so balancers stop sending), drains in-flight calls, closes. */
  stop(): Promise<void>;
}

/**
 * Starts the wallet-ledger's gRPC server (with health and reflection) and its background work;
 * with `metrics`, every call is counted and timed per method.
 */
export async function startLedgerServer(
  config: LedgerConfig,
  logger: Logger,
  metrics?: GrpcServerMetrics,
): Promise<RunningLedger> {
  const grpc = grpcServerOptions({
    url: config.LEDGER_GRPC_URL,
    packageName: 'saldo.ledger.v1',
    serviceNames: [LEDGER_SERVICE_NAME],
    protoPath: protoFile('saldo/ledger/v1/ledger.proto'),
    includeDirs: [protoRoot()],
  });
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(
    LedgerModule.forConfig(config, logger),
    {
      ...grpc.options,
      logger: new PinoNestLogger(logger),
    },
  );
  app.useGlobalFilters(new GrpcErrorFilter(logger));
  // The status each error leaves with is GrpcErrorFilter's: coded errors by grpcStatusOf, else INTERNAL.
  const statusOf = (error: unknown) =>
    status[isLedgerError(error) ? grpcStatusOf(error.code) : status.INTERNAL] as string;
  // Tracing first: the caller's traceparent (metadata) is the parent of everything the call does.
  // A posting's trace is remembered by transaction id: the relay publishes its event in that trace.
  // A PostBatch answer: the id of every transaction it made.
  const transactionIdOf = (response: unknown): string | string[] | undefined => {
    const answer = response as
      | { transactionId?: string; outcomes?: Array<{ transaction?: { transactionId?: string } | null }> }
      | undefined;
    if (answer?.outcomes)
      return answer.outcomes.flatMap((o) =>
        o.transaction?.transactionId ? [o.transaction.transactionId] : [],
      );
    return answer?.transactionId;
  };
  app.useGlobalInterceptors(new GrpcTracingInterceptor(statusOf, transactionIdOf));
  if (metrics) app.useGlobalInterceptors(new GrpcMetricsInterceptor(metrics, statusOf));
  await app.listen();
  grpc.health.setStatus('', 'SERVING');
  grpc.health.setStatus(LEDGER_SERVICE_NAME, 'SERVING');
  return {
    app,
    stop: async () => {
      grpc.health.setStatus('', 'NOT_SERVING');
      grpc.health.setStatus(LEDGER_SERVICE_NAME, 'NOT_SERVING');
      await app.close();
    },
  };
}
